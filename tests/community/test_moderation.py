"""Reports hide content; moderators review it; every act is in the append-only log."""

from __future__ import annotations

import pytest

from community.actions import do_moderate_post
from community.models import ContentStatus, ModerationLog, Post, Report
from core.errors import Conflict
from notifications.models import Event
from tests import factories as f
from tests.community.conftest import make_post
from tests.conftest import assert_error


def test_three_reports_hide_a_post_and_a_moderator_restores_it(api_for, zhangsan, zhoubanzhu, neighborhood, standin):
    post = make_post(neighborhood, zhangsan, body="原文")
    reporters = [f.resident(neighborhood) for _ in range(3)]
    feed = f"/api/v1/neighborhoods/{neighborhood.id}/feed"
    for i, reporter in enumerate(reporters):
        assert api_for(reporter).post(f"/api/v1/posts/{post.id}/reports", {"reason": "rumor"}).status_code == 201
        hidden = Post.objects.get(pk=post.id).status == ContentStatus.HIDDEN
        assert hidden is (i == 2)
    assert api_for(reporters[0]).get(feed).json()["results"] == []
    assert Event.objects.filter(type="post.hidden", payload__post_id=post.id).exists()
    queue = api_for(zhoubanzhu).get("/api/v1/moderation/queue").json()["results"]
    assert [(p["id"], p["open_report_count"], p["hidden_by_reports"]) for p in queue] == [(post.id, 3, True)]

    restored = api_for(zhoubanzhu).post(f"/api/v1/posts/{post.id}/moderation", {"action": "restore", "reason": "经核实不是谣言"})
    assert restored.status_code == 200 and restored.json()["status"] == "published"
    assert [p["id"] for p in api_for(reporters[0]).get(feed).json()["results"]] == [post.id]
    assert api_for(zhoubanzhu).get("/api/v1/moderation/queue").json()["results"] == []

    log = api_for(zhoubanzhu).get(f"/api/v1/posts/{post.id}/moderation-log").json()
    assert [(e["action"], e["actor_id"]) for e in log] == [("auto_hide", None), ("restore", zhoubanzhu.id)]
    assert log[0]["snapshot"]["body"] == "原文" and log[0]["snapshot"]["status"] == "published"
    assert log[1]["reason"] == "经核实不是谣言" and log[1]["snapshot"]["status"] == "hidden"
    assert not Report.objects.filter(status="open").exists()


def test_report_threshold_is_a_neighborhood_setting(api_for, zhangsan, neighborhood, standin):
    neighborhood.settings = {"report_hide_threshold": 1}
    neighborhood.save()
    post = make_post(neighborhood, zhangsan)
    api_for(f.resident(neighborhood)).post(f"/api/v1/posts/{post.id}/reports", {"reason": "spam"})
    assert Post.objects.get(pk=post.id).status == ContentStatus.HIDDEN


def test_one_report_per_person_per_item(api_for, zhangsan, lisi, neighborhood, standin):
    post = make_post(neighborhood, zhangsan)
    api = api_for(lisi)
    assert api.post(f"/api/v1/posts/{post.id}/reports", {"reason": "spam"}).status_code == 201
    assert_error(api.post(f"/api/v1/posts/{post.id}/reports", {"reason": "abuse"}), 409, "already_reported")
    assert_error(api.post(f"/api/v1/posts/{post.id}/reports", {"reason": "bogus"}), 400, "invalid_input")
    # A replayed key gives the first answer, not a 409.
    again = api_for(zhangsan)
    a = again.post(f"/api/v1/posts/{post.id}/reports", {"reason": "spam"}, headers={"Idempotency-Key": "r"})
    b = again.post(f"/api/v1/posts/{post.id}/reports", {"reason": "spam"}, headers={"Idempotency-Key": "r"})
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    assert Report.objects.count() == 2


def test_comment_reports_hide_the_comment_and_fix_the_count(api_for, zhangsan, lisi, zhoubanzhu, neighborhood, standin):
    neighborhood.settings = {"report_hide_threshold": 2}
    neighborhood.save()
    post = make_post(neighborhood, zhangsan)
    comment_id = api_for(lisi).post(f"/api/v1/posts/{post.id}/comments", {"body": "一条评论"}).json()["id"]
    for _ in range(2):
        api_for(f.resident(neighborhood)).post(f"/api/v1/comments/{comment_id}/reports", {"reason": "abuse"})
    assert Post.objects.get(pk=post.id).comment_count == 0
    queue = api_for(zhoubanzhu).get("/api/v1/moderation/queue?kind=comment").json()["results"]
    assert [c["id"] for c in queue] == [comment_id]
    assert_error(api_for(zhangsan).post(f"/api/v1/comments/{comment_id}/moderation", {"action": "restore"}), 404)
    assert api_for(zhoubanzhu).post(f"/api/v1/comments/{comment_id}/moderation", {"action": "restore"}).status_code == 200
    assert Post.objects.get(pk=post.id).comment_count == 1


def test_resident_is_not_a_moderator(api_for, zhangsan, lisi, neighborhood):
    post = make_post(neighborhood, zhangsan)
    assert_error(api_for(lisi).post(f"/api/v1/posts/{post.id}/moderation", {"action": "hide"}), 403, "not_moderator")
    assert_error(api_for(lisi).get("/api/v1/moderation/queue"), 403, "not_moderator")


def test_staff_of_another_neighborhood_cannot_moderate(api_for, zhangsan, neighborhood, other_neighborhood):
    post = make_post(neighborhood, zhangsan)
    other_staff = f.staff(other_neighborhood)
    assert_error(api_for(other_staff).post(f"/api/v1/posts/{post.id}/moderation", {"action": "hide"}), 404)
    assert_error(api_for(other_staff).get(f"/api/v1/moderation/queue?neighborhood_id={neighborhood.id}"), 404)


def test_pin_puts_a_post_first_and_close_comments_stops_residents(api_for, zhangsan, lisi, chenjuwei, neighborhood, standin):
    pinned = make_post(neighborhood, zhangsan, title="旧帖")
    make_post(neighborhood, zhangsan, title="新帖")
    api = api_for(chenjuwei)
    assert api.post(f"/api/v1/posts/{pinned.id}/moderation", {"action": "pin"}).status_code == 200
    assert_error(api.post(f"/api/v1/posts/{pinned.id}/moderation", {"action": "pin"}), 409, "post_state_changed")
    titles = [p["title"] for p in api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"]]
    assert titles == ["旧帖", "新帖"]
    api.post(f"/api/v1/posts/{pinned.id}/moderation", {"action": "close_comments"})
    assert_error(api_for(lisi).post(f"/api/v1/posts/{pinned.id}/comments", {"body": "嗯"}), 403, "comments_closed")
    assert_error(api.post(f"/api/v1/posts/{pinned.id}/moderation", {"action": "explode"}), 400)
    assert list(ModerationLog.objects.values_list("action", flat=True).order_by("id")) == ["pin", "close_comments"]


def test_two_moderators_hiding_at_once_one_gets_409(zhangsan, zhoubanzhu, chenjuwei, neighborhood):
    post = make_post(neighborhood, zhangsan)
    do_moderate_post(post_id=post.id, actor=zhoubanzhu, action="hide", reason="a")
    with pytest.raises(Conflict) as exc:
        do_moderate_post(post_id=post.id, actor=chenjuwei, action="hide", reason="b")
    assert exc.value.detail == {"current": "hidden"}
    assert ModerationLog.objects.count() == 1


def test_moderation_log_is_append_only(zhangsan, zhoubanzhu, neighborhood):
    post = make_post(neighborhood, zhangsan)
    do_moderate_post(post_id=post.id, actor=zhoubanzhu, action="remove", reason="违规")
    entry = ModerationLog.objects.get()
    entry.reason = "改写"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
