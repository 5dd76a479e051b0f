"""发帖必响应: every resident post waits for an official reply; staff see the oldest first."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from community.models import Post
from tests.community.conftest import make_post
from tests.conftest import assert_error


def test_staff_see_unanswered_posts_oldest_first_and_an_official_reply_answers(
    api_for, zhangsan, lisi, chenjuwei, neighborhood, other_neighborhood, zhaoliu, standin, django_capture_on_commit_callbacks
):
    now = timezone.now()
    older = make_post(neighborhood, zhangsan, title="旧", created_at=now - timedelta(hours=5))
    newer = make_post(neighborhood, lisi, title="新", created_at=now - timedelta(hours=1))
    make_post(neighborhood, chenjuwei, title="公告", section="notice")
    make_post(other_neighborhood, zhaoliu, title="别处")
    api = api_for(chenjuwei)
    assert [p["id"] for p in api.get("/api/v1/posts/unanswered").json()["results"]] == [older.id, newer.id]

    # A neighbor's comment is not an answer; a resident cannot answer officially.
    api_for(lisi).post(f"/api/v1/posts/{older.id}/comments", {"body": "同问"})
    assert_error(api_for(lisi).post(f"/api/v1/posts/{older.id}/comments", {"body": "官方", "official": True}), 403, "not_official")
    with django_capture_on_commit_callbacks(execute=True):
        reply = api.post(f"/api/v1/posts/{older.id}/comments", {"body": "已派物业维修", "official": True})
    assert reply.status_code == 201 and reply.json()["is_official"] is True

    answered = Post.objects.get(pk=older.id)
    assert answered.answered_by_id == chenjuwei.id and answered.answered_at >= now
    assert [p["id"] for p in api.get("/api/v1/posts/unanswered").json()["results"]] == [newer.id]
    note = zhangsan.notifications.get(kind="post_answered")
    assert note.data["post_id"] == older.id
    # A second official reply keeps the first response time and does not notify twice.
    api.post(f"/api/v1/posts/{older.id}/comments", {"body": "已修好", "official": True})
    assert Post.objects.get(pk=older.id).answered_at == answered.answered_at
    assert zhangsan.notifications.filter(kind="post_answered").count() == 1


def test_residents_cannot_list_unanswered_and_staff_only_their_region(api_for, zhangsan, chenjuwei, other_neighborhood):
    assert_error(api_for(zhangsan).get("/api/v1/posts/unanswered"), 403, "staff_only")
    assert_error(api_for(chenjuwei).get(f"/api/v1/posts/unanswered?neighborhood_id={other_neighborhood.id}"), 404)
    assert_error(api_for(chenjuwei).get("/api/v1/posts/unanswered?neighborhood_id=abc"), 400)


def test_street_officer_answers_posts_of_the_street(api_for, zhangsan, liujiedao, neighborhood, standin):
    post = make_post(neighborhood, zhangsan)
    assert [p["id"] for p in api_for(liujiedao).get("/api/v1/posts/unanswered").json()["results"]] == [post.id]
    api_for(liujiedao).post(f"/api/v1/posts/{post.id}/comments", {"body": "街道已协调", "official": True})
    assert Post.objects.get(pk=post.id).answered_at is not None


def test_demo_seed_is_idempotent_and_skips_without_personas(neighborhood):
    import io

    from community import demo

    out = io.StringIO()
    demo.seed(out)
    assert "跳过" in out.getvalue() and not Post.objects.exists()


def test_demo_seed_runs_twice_with_one_copy(district):
    import io

    from community import demo
    from residents.models import Role
    from tests import factories as f

    street = f.StreetFactory(parent=district, code="310113003000")
    baolin = f.NeighborhoodFactory(parent=street, code="310113003001")
    for openid in ("zhangsan", "lisi", "zhoubanzhu"):
        f.resident(baolin, openid=openid)
    f.staff(baolin, openid="chenjuwei")
    f.officer(street, openid="liujiedao")
    Role.objects.create(user=f.UserFactory(), region=baolin, kind=Role.Kind.MODERATOR)
    demo.seed(io.StringIO())
    counts = (Post.objects.count(), Post.objects.filter(answered_at__isnull=False).count())
    demo.seed(io.StringIO())
    assert counts == (Post.objects.count(), 1) and counts[0] == 6
    assert Post.objects.get(title="小区东门电瓶车乱停").answered_at is None
