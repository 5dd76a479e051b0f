"""Steering topics from the console."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deliberation.actions.milestones import do_add_milestone, do_update_milestone
from deliberation.actions.stages import do_transition_topic
from deliberation.actions.topics import do_create_topic
from deliberation.actions.votes import do_cast_ballot
from deliberation.models import Ballot, Decision, Milestone, MilestoneUpdate, Topic, TopicEvent
from tests import factories as f


@pytest.fixture(autouse=True)
def _wechat(wechat_standin):
    """Topic text passes WeChat's content check before it is public."""
    return wechat_standin


def _topic(neighborhood, author, title="小区停车位重新划线") -> Topic:
    return do_create_topic(
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
    do_cast_ballot(topic_id=topic.pk, actor=voter, choices=["yes"])
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
    do_transition_topic(topic_id=topic.pk, actor=committee_staff, to="discussing")
    page = console_for(committee_staff).get("/console/").content.decode()
    assert 'data-card="topics_waiting"' in page
    assert (
        f'data-topic="{topic.id}"'
        in console_for(committee_staff).get("/console/topics/?status=waiting").content.decode()
    )


def _implementing(neighborhood, staff) -> tuple[Topic, Milestone]:
    topic = _topic(neighborhood, f.resident(neighborhood))
    # The stage walk to implementing is the story above; here only the milestone edit matters.
    Topic.objects.filter(pk=topic.pk).update(status="implementing")
    milestone = do_add_milestone(topic_id=topic.pk, actor=staff, title="施工队进场", progress=10)
    return topic, milestone


def test_staff_edit_a_milestone_and_the_change_is_recorded(neighborhood, committee_staff, console_for):
    topic, milestone = _implementing(neighborhood, committee_staff)
    client = console_for(committee_staff)
    assert f'data-edit-milestone="{milestone.id}"' in client.get(f"/console/topics/{topic.id}/").content.decode()
    client.post(
        f"/console/topics/{topic.id}/milestones/{milestone.id}/",
        {"title": "施工队进场", "progress": "60", "status": "in_progress", "responsible_party": "物业"},
    )
    milestone.refresh_from_db()
    assert (milestone.progress, milestone.status, milestone.responsible_party) == (60, "in_progress", "物业")
    update = MilestoneUpdate.objects.filter(milestone=milestone).order_by("-id").first()
    assert update.changes["progress"] == {"from": 10, "to": 60} and update.actor == committee_staff
    client.post(f"/console/topics/{topic.id}/milestones/{milestone.id}/", {"title": "施工队进场", "status": "done"})
    milestone.refresh_from_db()
    assert milestone.progress == 100  # done means 100%, the app's rule


def test_malformed_milestone_edit_changes_nothing(neighborhood, committee_staff, console_for):
    topic, milestone = _implementing(neighborhood, committee_staff)
    client = console_for(committee_staff)
    for body in (
        {"title": "", "progress": "50"},
        {"title": "x", "due_date": "明天"},
        {"title": "x", "status": "flying"},
    ):
        page = client.post(f"/console/topics/{topic.id}/milestones/{milestone.id}/", body, follow=True).content.decode()
        assert "msg-error" in page
    milestone.refresh_from_db()
    assert (milestone.title, milestone.progress) == ("施工队进场", 10)


def test_milestone_of_another_topic_or_street_is_404(neighborhood, committee_staff, other_officer, console_for):
    topic, milestone = _implementing(neighborhood, committee_staff)
    other_topic, _ = _implementing(neighborhood, committee_staff)
    body = {"title": "改名", "progress": "90"}
    assert (
        console_for(committee_staff)
        .post(f"/console/topics/{other_topic.id}/milestones/{milestone.id}/", body)
        .status_code
        == 404
    )
    assert (
        console_for(other_officer).post(f"/console/topics/{topic.id}/milestones/{milestone.id}/", body).status_code
        == 404
    )
    milestone.refresh_from_db()
    assert milestone.title == "施工队进场"


def test_steering_screen_gates_evaluation_on_finished_milestones(neighborhood, committee_staff, console_for):
    topic, milestone = _implementing(neighborhood, committee_staff)
    topic.refresh_from_db()
    client = console_for(committee_staff)
    page = client.get(f"/console/topics/{topic.id}/").content.decode()
    # At 10 % the move is offered only as 终止实施, which asks for the reason.
    assert 'data-move="evaluating" data-unmet="milestones_incomplete"' in page and "终止原因（居民可见）" in page
    page = _drive(client, topic, "evaluating").content.decode()
    assert "msg-error" in page and "实施节点尚未全部完成" in page
    topic.refresh_from_db()
    assert topic.status == "implementing"
    # Stopping early without a reason is refused too; with one it moves and residents read it.
    _drive(client, topic, "evaluating", stop_implementation="on", note="")
    topic.refresh_from_db()
    assert topic.status == "implementing"
    _drive(client, topic, "evaluating", stop_implementation="on", note="资金未到位，暂停施工")
    topic.refresh_from_db()
    assert topic.status == "evaluating"
    assert TopicEvent.objects.filter(topic=topic).latest("id").note == "终止实施：资金未到位，暂停施工"


def test_steering_screen_offers_evaluation_once_milestones_are_done(neighborhood, committee_staff, console_for):
    topic, milestone = _implementing(neighborhood, committee_staff)
    do_update_milestone(topic_id=topic.pk, milestone_id=milestone.pk, actor=committee_staff, changes={"progress": 100})
    topic.refresh_from_db()
    client = console_for(committee_staff)
    page = client.get(f"/console/topics/{topic.id}/").content.decode()
    assert 'data-move="evaluating">' in page and "终止原因" not in page
    _drive(client, topic, "evaluating")
    topic.refresh_from_db()
    assert topic.status == "evaluating"


def test_steering_screen_closes_only_after_the_evaluation_window(neighborhood, committee_staff, console_for):
    topic, milestone = _implementing(neighborhood, committee_staff)
    do_update_milestone(topic_id=topic.pk, milestone_id=milestone.pk, actor=committee_staff, changes={"status": "done"})
    do_transition_topic(topic_id=topic.pk, actor=committee_staff, to="evaluating")
    topic.refresh_from_db()
    client = console_for(committee_staff)
    page = client.get(f"/console/topics/{topic.id}/").content.decode()
    assert 'data-unmet="evaluation_window_open"' in page and 'name="to" value="closed"' not in page
    page = _drive(client, topic, "closed").content.decode()
    assert "效果评估期尚未结束" in page
    topic.refresh_from_db()
    assert topic.status == "evaluating"
    Topic.objects.filter(pk=topic.pk).update(evaluation_closes_at=timezone.now() - timedelta(minutes=1))
    page = client.get(f"/console/topics/{topic.id}/").content.decode()
    assert 'name="to" value="closed"' in page
    _drive(client, topic, "closed")
    topic.refresh_from_db()
    assert topic.status == "closed"
