"""Text passes WeChat's msgSecCheck v2 before anyone else sees it."""

from __future__ import annotations

from community.actions import recheck_pending
from community.models import Comment, ContentStatus, Post
from tests.community.conftest import make_post
from tests.conftest import assert_error


def test_text_with_a_word_wechat_rejects_never_appears(api_for, zhangsan, lisi, neighborhood, standin):
    response = api_for(zhangsan).post(
        "/api/v1/posts", {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "好消息", "body": "来玩赌博吧"}
    )
    assert_error(response, 400, "content_rejected")
    assert not Post.objects.exists()
    post = make_post(neighborhood, lisi)
    assert_error(api_for(zhangsan).post(f"/api/v1/posts/{post.id}/comments", {"body": "赌博群加我"}), 400, "content_rejected")
    assert not Comment.objects.exists()
    feed = api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").content.decode()
    assert "赌博" not in feed


def test_review_verdict_holds_the_post_for_a_moderator(api_for, zhangsan, lisi, zhoubanzhu, neighborhood, standin):
    response = api_for(zhangsan).post(
        "/api/v1/posts", {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "集体上访", "body": "大家一起去"}
    )
    assert response.status_code == 201 and response.json()["status"] == "pending_review"
    feed = f"/api/v1/neighborhoods/{neighborhood.id}/feed"
    assert api_for(lisi).get(feed).json()["results"] == []
    assert [p["id"] for p in api_for(zhangsan).get(feed).json()["results"]] == [response.json()["id"]]  # the author sees it
    queue = api_for(zhoubanzhu).get("/api/v1/moderation/queue").json()["results"]
    assert [p["id"] for p in queue] == [response.json()["id"]]
    restore = api_for(zhoubanzhu).post(f"/api/v1/posts/{response.json()['id']}/moderation", {"action": "restore", "reason": "已核实"})
    assert restore.status_code == 200 and restore.json()["status"] == "published"
    assert len(api_for(lisi).get(feed).json()["results"]) == 1


def test_wechat_unreachable_keeps_text_pending_until_the_task_checks_it(api_for, zhangsan, lisi, neighborhood, standin):
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "errcode", "errcode": -1})
    api = api_for(zhangsan)
    ok = api.post("/api/v1/posts", {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "寻猫", "body": "橘猫走失"})
    bad = api.post("/api/v1/posts", {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "广告", "body": "赌博网站"})
    assert ok.json()["status"] == bad.json()["status"] == "pending_check"
    assert api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"] == []

    assert recheck_pending()["still_pending"] == 2  # still down: nothing changes
    standin.control("DELETE", "faults")
    result = recheck_pending()

    assert result == {"published": 1, "review": 0, "removed": 1, "still_pending": 0}
    assert Post.objects.get(pk=ok.json()["id"]).status == ContentStatus.PUBLISHED
    assert Post.objects.get(pk=bad.json()["id"]).status == ContentStatus.REMOVED
    titles = [p["title"] for p in api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"]]
    assert titles == ["寻猫"]


def test_wechat_unreachable_for_a_comment_does_not_count_it_until_checked(api_for, zhangsan, lisi, neighborhood, standin):
    post = make_post(neighborhood, lisi)
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "close"})
    response = api_for(zhangsan).post(f"/api/v1/posts/{post.id}/comments", {"body": "我也看到了"})
    assert response.status_code == 201 and response.json()["status"] == "pending_check"
    assert Post.objects.get(pk=post.id).comment_count == 0
    standin.control("DELETE", "faults")
    recheck_pending()
    assert Post.objects.get(pk=post.id).comment_count == 1
