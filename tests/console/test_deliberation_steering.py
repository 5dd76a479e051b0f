"""Steering topics from the console."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deliberation import actions
from deliberation.models import Ballot, Decision, Milestone, Topic, TopicEvent
from tests import factories as f


@pytest.fixture(autouse=True)
def _wechat(wechat_standin):
    """Topic text passes WeChat's content check before it is public."""
    return wechat_standin


def _topic(neighborhood, author, title="小区停车位重新划线") -> Topic:
    return actions.do_create_topic(
        actor=author,
        neighborhood_id=neighborhood.pk,
        building_group_id=None,
        category="parking",
        title=title,
        body="希望讨论",
    )


def _drive(client, topic, to, **data):
    return client.post(
        f"/console/topics/{topic.id}/transition/", {"to": to, "from_status": topic.status, **data}, follow=True
    )


def test_staff_drives_a_topic_from_discussion_to_result_and_milestones(neighborhood, committee_staff, console_for):
    voter = f.resident(neighborhood)
    topic = _topic(neighborhood, voter)
    client = console_for(committee_staff)
    _drive(client, topic, "discussing")
    topic.refresh_from_db()
    closes = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    _drive(
        client,
        topic,
        "voting",
        summary="多数赞成划线",
        kind="yes_no_abstain",
        pass_rule="simple_majority",
        closes_at=closes,
        quorum_percent="0",
    )
    topic.refresh_from_db()
    assert topic.status == "voting" and topic.vote.closes_at > timezone.now()
    actions.do_cast_ballot(topic_id=topic.pk, actor=voter, choices=["yes"])
    page = _drive(client, topic, "decided").content.decode()
    topic.refresh_from_db()
    assert topic.status == "decided" and topic.outcome == "passed"
    assert Decision.objects.get(topic=topic).outcome == "passed"
    assert 'data-decision="passed"' in page and "yes：1 票" in page
    _drive(client, topic, "implementing")
    client.post(
        f"/console/topics/{topic.id}/milestones/", {"title": "施工队进场", "progress": "40", "status": "in_progress"}
    )
    assert Milestone.objects.get(topic=topic).progress == 40
    assert list(TopicEvent.objects.filter(topic=topic).order_by("id").values_list("to_status", flat=True)) == [
        "proposed",
        "discussing",
        "voting",
        "decided",
        "implementing",
    ]
    assert Ballot.objects.filter(topic=topic).count() == 1


def test_impossible_vote_rules_are_refused_with_the_apps_message(neighborhood, committee_staff, console_for):
    topic = _topic(neighborhood, f.resident(neighborhood))
    client = console_for(committee_staff)
    _drive(client, topic, "discussing")
    topic.refresh_from_db()
    closes = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page = _drive(
        client,
        topic,
        "voting",
        summary="小结",
        kind="yes_no_abstain",
        pass_rule="simple_majority",
        closes_at=closes,
        quorum_percent="150",
    ).content.decode()
    topic.refresh_from_db()
    assert topic.status == "discussing"
    assert "msg-error" in page


def test_stale_move_is_reported_not_repeated(neighborhood, committee_staff, street_officer, console_for):
    topic = _topic(neighborhood, f.resident(neighborhood))
    _drive(console_for(street_officer), topic, "discussing")
    page = _drive(console_for(committee_staff), topic, "discussing").content.decode()
    assert TopicEvent.objects.filter(topic=topic, to_status="discussing").count() == 1
    assert "msg-error" in page


def test_officer_of_other_street_gets_404(neighborhood, other_officer, console_for):
    topic = _topic(neighborhood, f.resident(neighborhood))
    client = console_for(other_officer)
    assert f'data-topic="{topic.id}"' not in client.get("/console/topics/").content.decode()
    assert client.get(f"/console/topics/{topic.id}/").status_code == 404
    assert client.post(f"/console/topics/{topic.id}/transition/", {"to": "discussing"}).status_code == 404
    topic.refresh_from_db()
    assert topic.status == "proposed"


def test_home_shows_topics_waiting_for_a_move(neighborhood, committee_staff, console_for):
    topic = _topic(neighborhood, f.resident(neighborhood))
    actions.do_transition_topic(topic_id=topic.pk, actor=committee_staff, to="discussing")
    page = console_for(committee_staff).get("/console/").content.decode()
    assert 'data-card="topics_waiting"' in page
    assert (
        f'data-topic="{topic.id}"'
        in console_for(committee_staff).get("/console/topics/?status=waiting").content.decode()
    )
