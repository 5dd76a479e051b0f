"""Issue 15 item 11: a topic is evaluated only once its milestones are done (or staff end the
work early with a reason residents read), and closed only once the evaluation window it
announced has run. Each refusal is the one error shape with a code naming what is missing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deliberation.actions.milestones import do_add_milestone, do_update_milestone
from deliberation.actions.votes import do_cast_ballot, do_close_vote
from deliberation.models import Topic, TopicEvent
from tests.conftest import Api, assert_error
from tests.deliberation.test_replies_milestones_evaluations import _implementing

pytestmark = pytest.mark.django_db


def _move(client: Api, topic: Topic, **body):
    return client.post(f"/api/v1/topics/{topic.pk}/transitions", body)


def _milestones(staff, topic: Topic, *progress: int) -> list[int]:
    return [
        do_add_milestone(topic_id=topic.pk, actor=staff, title=f"节点{i}", progress=p).pk
        for i, p in enumerate(progress)
    ]


def test_evaluation_waits_until_every_milestone_is_done(neighborhood, staff, zhangsan, lisi):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    chen = Api(staff)
    # No milestones at all: nothing shows the work was done.
    error = assert_error(_move(chen, topic, to="evaluating"), 409, "milestones_incomplete")
    assert error["detail"] == {"current": "implementing", "milestones": 0, "unfinished": 0, "progress": 0}
    done, half = _milestones(staff, topic, 100, 0)
    do_update_milestone(topic_id=topic.pk, milestone_id=half, actor=staff, changes={"progress": 50})
    # 75 % on average: refused, and the detail says which part is missing.
    error = assert_error(_move(chen, topic, to="evaluating"), 409, "milestones_incomplete")
    assert error["detail"]["unfinished"] == 1 and error["detail"]["progress"] == 75
    assert Topic.objects.get(pk=topic.pk).status == "implementing"
    do_update_milestone(topic_id=topic.pk, milestone_id=half, actor=staff, changes={"status": "done"})
    r = _move(chen, topic, to="evaluating")
    assert r.status_code == 200 and r.json()["status"] == "evaluating"


def test_staff_may_stop_implementation_early_only_with_a_reason_residents_read(neighborhood, staff, zhangsan, lisi):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    _milestones(staff, topic, 50)
    chen = Api(staff)
    assert_error(_move(chen, topic, to="evaluating", stop_implementation=True), 400, "stop_reason_required")
    assert_error(_move(chen, topic, to="evaluating", stop_implementation=True, note="   "), 400, "stop_reason_required")
    assert_error(
        _move(chen, topic, to="closed", stop_implementation=True, note="x"), 400, "stop_implementation_invalid"
    )
    assert Topic.objects.get(pk=topic.pk).status == "implementing"
    r = _move(chen, topic, to="evaluating", stop_implementation=True, note="施工方撤场，剩余工程并入明年计划")
    assert r.status_code == 200 and r.json()["status"] == "evaluating"
    event = TopicEvent.objects.filter(topic=topic).latest("id")
    assert event.note == "终止实施：施工方撤场，剩余工程并入明年计划"
    # The resident reads the reason on the topic's event log.
    log = Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()
    assert any(e["note"] == event.note for e in log["events"])


def test_resident_cannot_stop_implementation(neighborhood, staff, zhangsan, lisi):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    assert_error(
        _move(Api(zhangsan), topic, to="evaluating", stop_implementation=True, note="不想等了"), 403, "staff_only"
    )


def test_the_evaluation_window_is_at_least_a_week(neighborhood, staff, zhangsan, lisi):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    _milestones(staff, topic, 100)
    chen = Api(staff)
    soon = (timezone.now() + timedelta(days=6)).isoformat()
    error = assert_error(
        _move(chen, topic, to="evaluating", evaluation_closes_at=soon), 400, "evaluation_window_too_short"
    )
    assert error["detail"]["min_days"] == 7
    week = (timezone.now() + timedelta(days=7)).isoformat()
    assert _move(chen, topic, to="evaluating", evaluation_closes_at=week).json()["status"] == "evaluating"


def test_closing_waits_for_the_evaluation_window_to_run(neighborhood, staff, zhangsan, lisi):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    _milestones(staff, topic, 100)
    chen = Api(staff)
    _move(chen, topic, to="evaluating")
    Api(lisi).post(f"/api/v1/topics/{topic.pk}/evaluations", {"rating": 4})
    # Right after the window opens (the walk-through's case), and a minute before it ends: refused.
    error = assert_error(_move(chen, topic, to="closed"), 409, "evaluation_window_open")
    closes = Topic.objects.get(pk=topic.pk).evaluation_closes_at
    assert error["detail"]["evaluation_closes_at"] == timezone.localtime(closes).isoformat()
    Topic.objects.filter(pk=topic.pk).update(evaluation_closes_at=timezone.now() + timedelta(minutes=1))
    assert_error(_move(chen, topic, to="closed"), 409, "evaluation_window_open")
    assert Topic.objects.get(pk=topic.pk).status == "evaluating"
    # The window has run: closed, with the summary of what residents said.
    Topic.objects.filter(pk=topic.pk).update(evaluation_closes_at=timezone.now() - timedelta(seconds=1))
    r = _move(chen, topic, to="closed", note="项目办结")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert r.json()["evaluation_summary"]["count"] == 1


def test_a_topic_that_did_not_pass_closes_at_once(neighborhood, staff, zhangsan, lisi):
    from tests.deliberation.conftest import topic_in

    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    do_cast_ballot(topic_id=topic.pk, actor=lisi, choices=["no"])
    do_close_vote(topic_id=topic.pk, actor=staff)
    assert _move(Api(staff), topic, to="closed").json()["status"] == "closed"


def test_move_conditions_are_data_on_the_model():
    S = Topic.Status
    assert set(Topic.MOVE_CONDITIONS) == {(S.IMPLEMENTING, S.EVALUATING), (S.EVALUATING, S.CLOSED)}
    for (src, dst), condition in Topic.MOVE_CONDITIONS.items():
        assert dst in Topic.TRANSITIONS[src]
        assert callable(getattr(Topic, condition.predicate))
