"""Topic and reply text passes WeChat's msgSecCheck v2 (over real HTTP, the stand-in) before
anyone but its author and the committee sees it."""

from __future__ import annotations

import io

import pytest

from deliberation import demo
from deliberation.actions.content_checks import recheck_pending
from deliberation.models import ContentStatus, Reply, Topic, TopicContentLog
from tests import factories as f
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import member, topic_in

pytestmark = pytest.mark.django_db


def _propose(api, neighborhood, title="停车难", body="晚上没有车位"):
    return api.post(
        "/api/v1/topics", {"neighborhood": neighborhood.pk, "category": "parking", "title": title, "body": body}
    )


def test_risky_topic_or_reply_is_rejected_and_nothing_is_saved(neighborhood, staff, zhangsan, lisi):
    assert_error(_propose(Api(zhangsan), neighborhood, body="楼下有人聚众赌博"), 400, "content_rejected")
    assert_error(_propose(Api(zhangsan), neighborhood, title="赌博", body="标题也检查"), 400, "content_rejected")
    assert not Topic.objects.exists()
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    path = f"/api/v1/topics/{topic.pk}/replies"
    assert_error(Api(lisi).post(path, {"body": "赌博群加我", "stance": "neutral"}), 400, "content_rejected")
    assert_error(Api(staff).post(path, {"body": "官方也查：赌博", "official": True}), 400, "content_rejected")
    assert not Reply.objects.exists()
    assert "赌博" not in Api(lisi).get(path).content.decode()


def test_long_body_is_checked_to_the_end(neighborhood, zhangsan):
    assert_error(_propose(Api(zhangsan), neighborhood, body="好" * 3000 + "赌博"), 400, "content_rejected")
    assert not Topic.objects.exists()


def test_review_verdict_holds_the_topic_for_staff_who_approve_it(neighborhood, staff, zhangsan, lisi):
    response = _propose(Api(zhangsan), neighborhood, title="组织上访", body="大家一起去")
    assert response.status_code == 201 and response.json()["content_status"] == "pending_review"
    topic_id = response.json()["id"]

    assert Api(lisi).get("/api/v1/topics").json()["results"] == []
    assert_error(Api(lisi).get(f"/api/v1/topics/{topic_id}"), 404, "topic_not_found")
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic_id}/supports"), 404)
    assert [t["id"] for t in Api(zhangsan).get("/api/v1/topics").json()["results"]] == [topic_id]  # the author sees it
    queue = Api(staff).get("/api/v1/topics", {"content_status": "pending_review"}).json()["results"]
    assert [t["id"] for t in queue] == [topic_id]
    # Nobody takes part in held text: the author cannot gather supports, staff cannot open discussion.
    assert_error(Api(zhangsan).post(f"/api/v1/topics/{topic_id}/supports"), 409, "topic_not_published")
    assert_error(
        Api(staff).post(f"/api/v1/topics/{topic_id}/transitions", {"to": "discussing"}), 409, "topic_not_published"
    )

    approved = Api(staff).post(f"/api/v1/topics/{topic_id}/moderation", {"action": "restore", "reason": "已核实"})
    assert approved.status_code == 200 and approved.json()["content_status"] == "published"
    assert [t["id"] for t in Api(lisi).get("/api/v1/topics").json()["results"]] == [topic_id]
    log = TopicContentLog.objects.get(topic_id=topic_id)
    assert (log.action, log.actor, log.snapshot["content_status"]) == ("restore", staff, "pending_review")


def test_review_verdict_holds_a_reply_until_staff_restore_it(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    path = f"/api/v1/topics/{topic.pk}/replies"
    held = Api(lisi).post(path, {"body": "不行就上访", "stance": "oppose"})
    assert held.status_code == 201 and held.json()["content_status"] == "pending_review"
    assert Api(zhangsan).get(path).json()["results"] == []
    assert [r["id"] for r in Api(lisi).get(path).json()["results"]] == [held.json()["id"]]  # its author sees it
    assert Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()["reply_count"] == 0
    staff_view = Api(staff).get(path, {"content_status": "pending_review"}).json()["results"]
    assert [r["id"] for r in staff_view] == [held.json()["id"]]
    Api(staff).post(f"{path}/{held.json()['id']}/moderation", {"action": "restore"})
    assert [r["id"] for r in Api(zhangsan).get(path).json()["results"]] == [held.json()["id"]]
    assert Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()["reply_count"] == 1


def test_wechat_unreachable_keeps_text_unchecked_until_the_task_checks_it(neighborhood, staff, zhangsan, lisi, standin):
    discussing = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING, title="议事")
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "errcode", "errcode": -1})
    ok = _propose(Api(zhangsan), neighborhood, title="寻物", body="丢了钥匙")
    bad = _propose(Api(zhangsan), neighborhood, title="广告", body="赌博网站")
    reply = Api(lisi).post(f"/api/v1/topics/{discussing.pk}/replies", {"body": "同意", "stance": "support"})
    assert (
        ok.json()["content_status"] == bad.json()["content_status"] == reply.json()["content_status"] == "pending_check"
    )
    assert [t["id"] for t in Api(lisi).get("/api/v1/topics").json()["results"]] == [discussing.pk]
    assert Api(zhangsan).get(f"/api/v1/topics/{discussing.pk}/replies").json()["results"] == []

    assert recheck_pending()["still_pending"] == 3  # still down: nothing changes
    standin.control("DELETE", "faults")
    from moderation.tasks import recheck_pending_content

    result = recheck_pending_content.enqueue().return_value

    assert result == {"published": 2, "review": 0, "removed": 1, "still_pending": 0}
    assert Topic.objects.get(pk=bad.json()["id"]).content_status == ContentStatus.REMOVED
    assert TopicContentLog.objects.get(topic_id=bad.json()["id"]).action == "content_check"
    assert {t["title"] for t in Api(lisi).get("/api/v1/topics").json()["results"]} == {"寻物", "议事"}
    assert [r["body"] for r in Api(zhangsan).get(f"/api/v1/topics/{discussing.pk}/replies").json()["results"]] == [
        "同意"
    ]
    assert_error(Api(zhangsan).get(f"/api/v1/topics/{bad.json()['id']}"), 404)  # removed: gone even for its author


def test_demo_seed_still_builds_every_stage_when_wechat_is_down(standin):
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "close"})
    street = f.StreetFactory(code="310113003000")
    baolin = f.NeighborhoodFactory(parent=street, code=demo.BAOLIN_1, name="宝林一村居委会", households=3200)
    group = f.BuildingGroupFactory(parent=baolin, code=demo.GROUP_1, name="1号楼组")
    for openid in ("zhangsan", "lisi", "zhoubanzhu"):
        member(baolin, group=group, openid=openid, username=openid)
    f.staff(baolin, openid="chenjuwei", username="chenjuwei")
    demo.seed(io.StringIO())
    assert set(Topic.objects.values_list("content_status", flat=True)) == {"published"}
    assert set(Reply.objects.values_list("content_status", flat=True)) == {"published"}
    assert Topic.objects.count() == 4
