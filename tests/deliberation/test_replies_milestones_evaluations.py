"""Discussion replies, implementation milestones and evaluation: outsiders, bad input, repeats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deliberation.actions.milestones import do_add_milestone
from deliberation.actions.stages import do_transition_topic
from deliberation.actions.votes import do_cast_ballot, do_close_vote
from deliberation.models import Evaluation, Milestone, MilestoneUpdate, Reply, Topic
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import topic_in

pytestmark = pytest.mark.django_db


def _implementing(neighborhood, author, staff, voter):
    topic = topic_in(neighborhood, author, staff=staff, status=Topic.Status.VOTING)
    do_cast_ballot(topic_id=topic.pk, actor=voter, choices=["yes"])
    do_close_vote(topic_id=topic.pk, actor=staff)
    return do_transition_topic(topic_id=topic.pk, actor=staff, to="implementing")


def test_replies_need_a_stance_and_are_paged(neighborhood, staff, zhangsan, lisi, wangwu, zhaoliu):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    zs = Api(zhangsan)
    assert_error(zs.post(f"/api/v1/topics/{topic.pk}/replies", {"body": "没有立场"}), 400, "stance_required")
    assert_error(zs.post(f"/api/v1/topics/{topic.pk}/replies", {"body": "", "stance": "support"}), 400)
    assert_error(zs.post(f"/api/v1/topics/{topic.pk}/replies", {"body": "x", "stance": "maybe"}), 400)
    assert_error(
        Api(lisi).post(f"/api/v1/topics/{topic.pk}/replies", {"body": "冒充官方", "official": True}), 403, "staff_only"
    )
    assert_error(
        Api(wangwu).post(f"/api/v1/topics/{topic.pk}/replies", {"body": "x", "stance": "neutral"}), 403, "not_verified"
    )
    assert_error(Api(zhaoliu).post(f"/api/v1/topics/{topic.pk}/replies", {"body": "x", "stance": "neutral"}), 404)
    assert_error(Api(zhaoliu).get(f"/api/v1/topics/{topic.pk}/replies"), 404)
    for i in range(5):
        zs.post(f"/api/v1/topics/{topic.pk}/replies", {"body": f"第{i}条", "stance": "neutral"})
    r1 = zs.post(
        f"/api/v1/topics/{topic.pk}/replies", {"body": "重复", "stance": "oppose"}, headers={"Idempotency-Key": "r"}
    )
    r2 = zs.post(
        f"/api/v1/topics/{topic.pk}/replies", {"body": "重复", "stance": "oppose"}, headers={"Idempotency-Key": "r"}
    )
    assert r1.json()["id"] == r2.json()["id"] and Reply.objects.filter(body="重复").count() == 1
    page = zs.get(f"/api/v1/topics/{topic.pk}/replies", {"limit": 4}).json()
    rest = zs.get(f"/api/v1/topics/{topic.pk}/replies", {"limit": 4, "cursor": page["next_cursor"]}).json()
    assert [x["body"] for x in page["results"] + rest["results"]] == [*(f"第{i}条" for i in range(5)), "重复"]
    assert [
        x["body"] for x in zs.get(f"/api/v1/topics/{topic.pk}/replies", {"stance": "oppose"}).json()["results"]
    ] == ["重复"]


def test_milestones_are_staff_only_and_validated(neighborhood, staff, zhangsan, lisi, zhaoliu):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    chen = Api(staff)
    path = f"/api/v1/topics/{topic.pk}/milestones"
    assert_error(Api(zhangsan).post(path, {"title": "居民加的"}), 403, "staff_only")
    assert_error(Api(zhaoliu).post(path, {"title": "外人"}), 404)
    assert_error(chen.post(path, {"title": "x", "progress": 101}), 400)
    assert_error(chen.post(path, {"due_date": "not a date", "title": "x"}), 400)
    r1 = chen.post(path, {"title": "采购", "progress": 10}, headers={"Idempotency-Key": "ms"})
    r2 = chen.post(path, {"title": "采购", "progress": 10}, headers={"Idempotency-Key": "ms"})
    assert r1.json()["id"] == r2.json()["id"] and Milestone.objects.filter(topic=topic).count() == 1
    mid = r1.json()["id"]
    assert_error(chen.patch(f"{path}/{mid}", {}), 400)
    assert_error(chen.patch(f"{path}/{mid}", {"progress": -5}), 400)
    assert_error(chen.patch(f"{path}/999999", {"progress": 5}), 404, "milestone_not_found")
    assert_error(Api(zhaoliu).patch(f"{path}/{mid}", {"progress": 50}), 404)
    assert chen.patch(f"{path}/{mid}", {"progress": 40, "status": "in_progress"}).json()["progress"] == 40
    assert MilestoneUpdate.objects.filter(milestone_id=mid).count() == 2
    # Same values again: no new history row, no notification.
    chen.patch(f"{path}/{mid}", {"progress": 40})
    assert MilestoneUpdate.objects.filter(milestone_id=mid).count() == 2


def test_milestones_only_while_implementing(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    assert_error(
        Api(staff).post(f"/api/v1/topics/{topic.pk}/milestones", {"title": "太早"}), 409, "topic_not_implementing"
    )


def test_evaluation_window_and_input(neighborhood, staff, zhangsan, lisi, wangwu, zhaoliu):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    path = f"/api/v1/topics/{topic.pk}/evaluations"
    assert_error(Api(zhangsan).post(path, {"rating": 5}), 409, "evaluation_closed")
    chen = Api(staff)
    do_add_milestone(topic_id=topic.pk, actor=staff, title="完工", progress=100)
    assert_error(
        chen.post(
            f"/api/v1/topics/{topic.pk}/transitions",
            {"to": "evaluating", "evaluation_closes_at": (timezone.now() - timedelta(days=1)).isoformat()},
        ),
        400,
        "evaluation_window_invalid",
    )
    chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "evaluating"})
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": "five"}, {}):
        assert_error(Api(zhangsan).post(path, bad), 400)
    assert_error(Api(wangwu).post(path, {"rating": 3}), 403, "not_verified")
    assert_error(Api(zhaoliu).post(path, {"rating": 3}), 404)
    r1 = Api(lisi).post(path, {"rating": 4}, headers={"Idempotency-Key": "e"})
    r2 = Api(lisi).post(path, {"rating": 4}, headers={"Idempotency-Key": "e"})
    assert r1.status_code == r2.status_code == 201 and Evaluation.objects.filter(topic=topic).count() == 1
    Topic.objects.filter(pk=topic.pk).update(evaluation_closes_at=timezone.now() - timedelta(seconds=1))
    assert_error(Api(zhangsan).post(path, {"rating": 5}), 409, "evaluation_closed")
    r = chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "closed"})
    assert r.json()["evaluation_summary"]["count"] == 1 and r.json()["evaluation_summary"]["average"] == "4.00"


def test_schema_is_valid_and_describes_topic_endpoints(db):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI document
    for path in (
        "/api/v1/topics",
        "/api/v1/topics/{topic_id}/ballots",
        "/api/v1/topics/{topic_id}/receipts/{code}",
        "/api/v1/topics/{topic_id}/milestones/{milestone_id}",
        "/api/v1/topics/{topic_id}/transitions",
    ):
        assert path in schema["paths"], path
