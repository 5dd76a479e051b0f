"""Lists residents and moderators were missing: one's own posts (with the pending and hidden ones
the feed does not show) and who is muted in a neighborhood."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from community.actions import do_mute_user
from community.models import Mute, PostImage
from tests import factories as f
from tests.community.conftest import make_image, make_post
from tests.conftest import assert_error


def _count(api, url, params):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


# ---- GET /me/posts -------------------------------------------------------------------


def test_a_resident_sees_all_their_own_posts_with_status_newest_first(api_for, neighborhood, zhangsan, lisi):
    now = timezone.now()
    published = make_post(neighborhood, zhangsan, title="已发布", created_at=now - timedelta(hours=4))
    held = make_post(neighborhood, zhangsan, title="待审核", status="pending_review", created_at=now - timedelta(hours=3))
    hidden = make_post(
        neighborhood, zhangsan, title="被举报隐藏", status="hidden", hidden_by_reports=True, created_at=now - timedelta(hours=2)
    )
    make_post(neighborhood, zhangsan, title="自己删了", status="deleted", created_at=now - timedelta(hours=1))
    make_post(neighborhood, zhangsan, title="管理删除", status="removed", created_at=now - timedelta(minutes=30))
    make_post(neighborhood, lisi, title="别人的")

    rows = api_for(zhangsan).get("/api/v1/me/posts").json()["results"]
    assert [(r["id"], r["status"]) for r in rows] == [
        (hidden.id, "hidden"), (held.id, "pending_review"), (published.id, "published"),
    ]
    assert rows[0]["hidden_by_reports"] is True
    assert rows[2]["answer_due_at"] is not None and rows[2]["is_overdue"] is False
    # The feed shows none of the held or hidden ones to a neighbor.
    feed = api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"]
    assert {r["id"] for r in feed} & {held.id, hidden.id} == set()
    only_hidden = api_for(zhangsan).get("/api/v1/me/posts", {"status": "hidden"}).json()["results"]
    assert [r["id"] for r in only_hidden] == [hidden.id]


def test_me_posts_rejects_bad_input_with_the_error_shape(api_for, zhangsan, anon):
    api = api_for(zhangsan)
    assert_error(api.get("/api/v1/me/posts", {"status": "deleted"}), 400, "invalid_parameter")
    assert_error(api.get("/api/v1/me/posts", {"limit": "0"}), 400, "invalid_limit")
    assert_error(api.get("/api/v1/me/posts", {"cursor": "not-a-cursor"}), 400, "invalid_cursor")
    assert_error(anon.get("/api/v1/me/posts"), 401)


def test_me_posts_pages_by_cursor_at_a_fixed_query_count(api_for, neighborhood, zhangsan):
    now = timezone.now()
    for i in range(20):
        post = make_post(neighborhood, zhangsan, title=f"帖{i}", created_at=now - timedelta(days=i),
                         status="pending_review" if i % 3 == 0 else "published")
        PostImage.objects.create(post=post, image=make_image(zhangsan))
    # Another 40 on earlier days (the daily cap counts per Shanghai day).
    for i in range(20, 60):
        make_post(neighborhood, zhangsan, title=f"帖{i}", created_at=now - timedelta(days=i))
    api = api_for(zhangsan)
    api.get("/api/v1/me/posts", {"limit": 1})  # the token's first use writes last_used_at
    small, page5 = _count(api, "/api/v1/me/posts", {"limit": 5})
    large, page50 = _count(api, "/api/v1/me/posts", {"limit": 50})
    assert small == large, (small, large)
    assert len(page5["results"]) == 5 and len(page50["results"]) == 50
    rest = api.get("/api/v1/me/posts", {"limit": 50, "cursor": page50["next_cursor"]}).json()
    ids = [r["id"] for r in page50["results"] + rest["results"]]
    assert len(ids) == len(set(ids)) == 60 and rest["next_cursor"] is None


# ---- GET /neighborhoods/{id}/mutes -----------------------------------------------------


def test_a_moderator_lists_who_is_muted_with_until_and_reason(api_for, neighborhood, zhangsan, lisi, zhoubanzhu, chenjuwei):
    do_mute_user(neighborhood=neighborhood, actor=zhoubanzhu, user_id=zhangsan.pk, hours=24, reason="刷屏")
    old = do_mute_user(neighborhood=neighborhood, actor=chenjuwei, user_id=lisi.pk, hours=1, reason="争吵")
    Mute.objects.filter(pk=old.pk).update(until=timezone.now() - timedelta(minutes=1))
    url = f"/api/v1/neighborhoods/{neighborhood.id}/mutes"

    for viewer in (zhoubanzhu, chenjuwei):
        rows = api_for(viewer).get(url).json()["results"]
        assert [(r["user"]["name"], r["reason"], r["is_active"]) for r in rows] == [("张三", "刷屏", True)]
        assert rows[0]["created_by"]["name"] == "周版主" and rows[0]["until"]
        assert set(rows[0]["user"]) == {"id", "name"}  # no phone, no address
    history = api_for(chenjuwei).get(url, {"active": "false"}).json()["results"]
    assert [(r["user"]["name"], r["is_active"]) for r in history] == [("李四", False), ("张三", True)]


def test_mutes_list_refuses_members_and_hides_from_outsiders(api_for, neighborhood, other_neighborhood, lisi, zhaoliu, liujiedao):
    url = f"/api/v1/neighborhoods/{neighborhood.id}/mutes"
    assert_error(api_for(lisi).get(url), 403, "not_moderator")
    assert_error(api_for(zhaoliu).get(url), 404)
    other_staff = f.staff(other_neighborhood)
    assert_error(api_for(other_staff).get(url), 404)
    assert_error(api_for(f.officer(other_neighborhood.parent)).get(url), 404)
    # The street officer above the neighborhood is staff there.
    assert api_for(liujiedao).get(url).status_code == 200
    assert_error(api_for(liujiedao).get(url, {"active": "maybe"}), 400, "invalid_parameter")
    assert_error(api_for(liujiedao).get(url, {"limit": "x"}), 400, "invalid_limit")


def test_mutes_list_costs_the_same_for_5_and_50(api_for, neighborhood, chenjuwei):
    for _ in range(55):
        do_mute_user(neighborhood=neighborhood, actor=chenjuwei, user_id=f.resident(neighborhood).pk, hours=2, reason="测试")
    api = api_for(chenjuwei)
    url = f"/api/v1/neighborhoods/{neighborhood.id}/mutes"
    api.get(url, {"limit": 1})
    small, page5 = _count(api, url, {"limit": 5})
    large, page50 = _count(api, url, {"limit": 50})
    assert small == large and len(page5["results"]) == 5 and len(page50["results"]) == 50
    rest = api.get(url, {"limit": 50, "cursor": page50["next_cursor"]}).json()
    assert len(rest["results"]) == 5 and rest["next_cursor"] is None
