"""The feed: pinned first then newest, broadcasts included, cursor pages, a fixed number of queries."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from community.models import Like, PostImage
from images.models import Image
from residents.models import Role
from tests import factories as f
from tests.community.conftest import make_image, make_post
from tests.conftest import assert_error


def _fill(neighborhood, street, n):
    officer = f.officer(street)
    for i in range(n):
        author = f.resident(neighborhood)
        f.RoleFactory(user=author, region=neighborhood, kind=Role.Kind.PARTY_MEMBER)
        post = make_post(neighborhood, author, title=f"帖{i}") if i % 5 else make_post(street, officer, scope="street", section="notice")
        for position, status in enumerate((Image.Status.PASSED, Image.Status.CHECKING)):
            PostImage.objects.create(post=post, image=make_image(author, status=status), position=position)
        Like.objects.create(post=post, user=author)


def _count(api, url):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_feed_query_count_is_the_same_for_5_and_50_items_and_for_a_deep_page(api_for, neighborhood, street):
    _fill(neighborhood, street, 60)
    api = api_for(f.resident(neighborhood))
    url = f"/api/v1/neighborhoods/{neighborhood.id}/feed"
    api.get(url + "?limit=1")  # the token's first use writes last_used_at: keep it out of the count
    small, page5 = _count(api, url + "?limit=5")
    large, page50 = _count(api, url + "?limit=50")
    deep, _ = _count(api, url + f"?limit=5&cursor={page50['next_cursor']}")
    assert len(page5["results"]) == 5 and len(page50["results"]) == 50
    assert small == large == deep
    assert small <= 10
    item = page50["results"][0]
    assert len(item["images"]) == 1  # the picture still being checked is not shown to others
    assert item["author"]["badges"]


def test_cursor_pages_cover_the_feed_without_gaps_and_filter_by_section(api_for, neighborhood, street):
    _fill(neighborhood, street, 12)
    api = api_for(f.resident(neighborhood))
    url = f"/api/v1/neighborhoods/{neighborhood.id}/feed?limit=5"
    seen, cursor = [], None
    while True:
        body = api.get(url + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [p["id"] for p in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 12
    assert seen == sorted(seen, reverse=True)
    notices = api.get(url + "&section=notice").json()["results"]
    assert notices and all(p["section"] == "notice" and p["scope"] == "street" for p in notices)
    assert_error(api.get(url + "&cursor=garbage"), 400, "invalid_cursor")
    assert_error(api.get(url.replace("limit=5", "limit=500")), 400, "invalid_limit")


def test_comment_list_query_count_is_fixed(api_for, neighborhood, standin):
    author = f.resident(neighborhood)
    post = make_post(neighborhood, author)
    from community.models import Comment

    for i in range(30):
        Comment.objects.create(post=post, author=f.resident(neighborhood), body=f"评论{i}", status="published")
    api = api_for(author)
    api.get(f"/api/v1/posts/{post.id}/comments?limit=1")
    few, _ = _count(api, f"/api/v1/posts/{post.id}/comments?limit=3")
    many, body = _count(api, f"/api/v1/posts/{post.id}/comments?limit=30")
    assert few == many and len(body["results"]) == 30
