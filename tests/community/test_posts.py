"""Residents post in their 居委; staff announce; officers broadcast; authors edit and delete."""

from __future__ import annotations

from datetime import timedelta

from community.models import ContentStatus, Post, PostRevision
from notifications.models import Event
from residents.models import Role
from tests import factories as f
from tests.community.conftest import make_image, make_post
from tests.conftest import assert_error


def _post(api, neighborhood, **kw):
    body = {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "周末义卖", "body": "周六上午在小区广场", **kw}
    return api.post("/api/v1/posts", body, headers=kw.pop("headers", None))


def test_resident_post_is_published_and_announced_on_commit(api_for, zhangsan, lisi, neighborhood, standin, django_capture_on_commit_callbacks):
    image = make_image(zhangsan)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(api_for(zhangsan), neighborhood, image_ids=[image.id])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "published" and body["needs_answer"] is True
    assert [i["id"] for i in body["images"]] == [image.id]
    assert callbacks  # the realtime broadcast ran after commit
    assert Event.objects.filter(stream=f"neighborhood.{neighborhood.id}", type="post.created", payload__post_id=body["id"]).exists()
    feed = api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()
    assert [p["id"] for p in feed["results"]] == [body["id"]]


def test_malformed_post_is_400_and_creates_nothing(api_for, zhangsan, neighborhood, standin):
    api = api_for(zhangsan)
    assert_error(api.post("/api/v1/posts", {"section": "neighbors"}), 400, "invalid_input")
    assert_error(_post(api, neighborhood, section="nope"), 400, "invalid_section")
    assert_error(_post(api, neighborhood, title="x" * 61), 400, "invalid_input")
    assert_error(api.raw_post("/api/v1/posts", b"{not json"), 400, "malformed_request")
    assert_error(_post(api, neighborhood, image_ids=list(range(1, 11))), 400)
    other = make_image(f.UserFactory())
    assert_error(_post(api, neighborhood, image_ids=[other.id]), 400, "image_not_found")
    assert not Post.objects.exists()


def test_double_submit_with_idempotency_key_makes_one_post(api_for, zhangsan, neighborhood, standin):
    api = api_for(zhangsan)
    first = _post(api, neighborhood, headers={"Idempotency-Key": "k1"})
    second = _post(api, neighborhood, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Post.objects.count() == 1


def test_resident_cannot_post_an_announcement_but_committee_staff_can(api_for, zhangsan, chenjuwei, neighborhood, standin):
    assert_error(_post(api_for(zhangsan), neighborhood, section="notice"), 403, "announcement_staff_only")
    response = _post(api_for(chenjuwei), neighborhood, section="notice", title="停水通知", body="周三9点至12点停水")
    assert response.status_code == 201
    assert response.json()["needs_answer"] is False


def test_officer_broadcast_is_one_row_that_reaches_every_neighborhood_of_the_street(
    api_for, liujiedao, street, neighborhood, zhaoliu, other_neighborhood, standin
):
    second = f.NeighborhoodFactory(parent=street)
    neighbor_in_second = f.resident(second)
    response = api_for(liujiedao).post(
        "/api/v1/posts", {"broadcast_region_id": street.id, "section": "notice", "title": "防汛通知", "body": "台风将至"}
    )
    assert response.status_code == 201, response.content
    assert Post.objects.count() == 1 and Post.objects.get().scope == "street"
    for user, nb in ((f.resident(neighborhood), neighborhood), (neighbor_in_second, second)):
        assert [p["title"] for p in api_for(user).get(f"/api/v1/neighborhoods/{nb.id}/feed").json()["results"]] == ["防汛通知"]
    assert api_for(zhaoliu).get(f"/api/v1/neighborhoods/{other_neighborhood.id}/feed").json()["results"] == []
    assert_error(api_for(zhaoliu).get(f"/api/v1/posts/{response.json()['id']}"), 404)
    # Only announcements are broadcast, and only to one's own street.
    assert_error(api_for(liujiedao).post("/api/v1/posts", {"broadcast_region_id": street.id, "section": "neighbors", "title": "t", "body": "b"}), 400)
    assert_error(api_for(liujiedao).post("/api/v1/posts", {"broadcast_region_id": other_neighborhood.parent_id, "section": "notice", "title": "t", "body": "b"}), 404)


def test_author_edits_within_the_window_and_history_is_kept(api_for, zhangsan, lisi, neighborhood, standin, settings):
    post_id = _post(api_for(zhangsan), neighborhood).json()["id"]
    response = api_for(zhangsan).patch(f"/api/v1/posts/{post_id}", {"body": "改到周日上午"})
    assert response.status_code == 200 and response.json()["body"] == "改到周日上午"
    assert list(PostRevision.objects.filter(post_id=post_id).values_list("body", flat=True)) == ["周六上午在小区广场"]
    assert_error(api_for(lisi).patch(f"/api/v1/posts/{post_id}", {"body": "别人的帖子"}), 404)
    assert_error(api_for(zhangsan).patch(f"/api/v1/posts/{post_id}", {}), 400)

    Post.objects.filter(pk=post_id).update(created_at=Post.objects.get(pk=post_id).created_at - timedelta(minutes=31))
    assert_error(api_for(zhangsan).patch(f"/api/v1/posts/{post_id}", {"body": "太晚了"}), 403, "edit_window_closed")


def test_author_deletes_own_post_and_others_cannot(api_for, zhangsan, lisi, neighborhood, standin):
    post_id = _post(api_for(zhangsan), neighborhood).json()["id"]
    assert_error(api_for(lisi).delete(f"/api/v1/posts/{post_id}"), 404)
    assert api_for(zhangsan).delete(f"/api/v1/posts/{post_id}").status_code == 204
    assert Post.objects.get(pk=post_id).status == ContentStatus.DELETED
    assert_error(api_for(lisi).get(f"/api/v1/posts/{post_id}"), 404)
    assert_error(api_for(zhangsan).delete(f"/api/v1/posts/{post_id}"), 404)


def test_outsider_gets_404_on_every_feed_path(api_for, zhaoliu, zhangsan, neighborhood, standin):
    post = make_post(neighborhood, zhangsan)
    pending_member = f.UserFactory()
    f.MembershipFactory(user=pending_member, neighborhood=neighborhood, status="pending", is_current=False)
    comment_id = api_for(zhangsan).post(f"/api/v1/posts/{post.id}/comments", {"body": "好的"}).json()["id"]
    for outsider in (zhaoliu, pending_member):
        api = api_for(outsider)
        assert_error(api.get(f"/api/v1/neighborhoods/{neighborhood.id}/feed"), 404)
        assert_error(_post(api, neighborhood), 404)
        assert_error(api.get(f"/api/v1/posts/{post.id}"), 404)
        assert_error(api.patch(f"/api/v1/posts/{post.id}", {"body": "x"}), 404)
        assert_error(api.delete(f"/api/v1/posts/{post.id}"), 404)
        assert_error(api.get(f"/api/v1/posts/{post.id}/comments"), 404)
        assert_error(api.post(f"/api/v1/posts/{post.id}/comments", {"body": "x"}), 404)
        assert_error(api.post(f"/api/v1/posts/{post.id}/like"), 404)
        assert_error(api.delete(f"/api/v1/posts/{post.id}/like"), 404)
        assert_error(api.post(f"/api/v1/posts/{post.id}/reports", {"reason": "spam"}), 404)
        assert_error(api.post(f"/api/v1/posts/{post.id}/moderation", {"action": "hide"}), 404)
        assert_error(api.get(f"/api/v1/posts/{post.id}/moderation-log"), 404)
        assert_error(api.post(f"/api/v1/comments/{comment_id}/reports", {"reason": "spam"}), 404)
        assert_error(api.post(f"/api/v1/comments/{comment_id}/moderation", {"action": "hide"}), 404)
        assert_error(api.delete(f"/api/v1/comments/{comment_id}"), 404)
        assert_error(api.post(f"/api/v1/neighborhoods/{neighborhood.id}/mutes", {"user_id": zhangsan.id, "hours": 1, "reason": "x"}), 404)
    assert_error(api_for(zhaoliu).get("/api/v1/posts/999999"), 404)


def test_muted_resident_cannot_post_or_comment(api_for, zhangsan, zhoubanzhu, neighborhood, standin):
    post = make_post(neighborhood, zhoubanzhu)
    response = api_for(zhoubanzhu).post(
        f"/api/v1/neighborhoods/{neighborhood.id}/mutes", {"user_id": zhangsan.id, "hours": 24, "reason": "多次发布广告"}
    )
    assert response.status_code == 201, response.content
    assert_error(_post(api_for(zhangsan), neighborhood), 403, "muted")
    assert_error(api_for(zhangsan).post(f"/api/v1/posts/{post.id}/comments", {"body": "hi"}), 403, "muted")
    assert zhangsan.notifications.filter(kind="muted").exists()
    # A plain resident may not mute anyone; a malformed mute is 400.
    assert_error(api_for(zhangsan).post(f"/api/v1/neighborhoods/{neighborhood.id}/mutes", {"user_id": zhoubanzhu.id, "hours": 1, "reason": "x"}), 403, "not_moderator")
    assert_error(api_for(zhoubanzhu).post(f"/api/v1/neighborhoods/{neighborhood.id}/mutes", {"user_id": zhangsan.id, "hours": 0, "reason": "x"}), 400)


def test_badges_show_verified_roles(api_for, lisi, chenjuwei, neighborhood, standin):
    f.RoleFactory(user=lisi, region=neighborhood, kind=Role.Kind.BUILDING_LEADER, title="1号楼组长")
    Role.objects.create(user=lisi, region=neighborhood, kind=Role.Kind.MODERATOR)  # not a badge
    make_post(neighborhood, lisi)
    item = api_for(chenjuwei).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"][0]
    assert item["author"]["name"] == "李四"
    assert sorted(b["label"] for b in item["author"]["badges"]) == ["党员", "楼组长"]
