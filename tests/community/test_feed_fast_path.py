"""The feed's hot path (community/feed.py: prepared SQL, plain dicts) must return exactly what
the ORM reference returns — visible_posts_for() → with_post_details() → paginate_keyset() →
PostOutput — page after page, cursors included, so the schema and the clients stay right."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from community import feed
from community.access import visible_posts_for
from community.models import ContentStatus, Like, Post, PostImage
from community.queries import FEED_ORDERING, with_post_details
from community.serializers import PostOutput
from core.errors import InvalidInput, NotFound
from core.pagination import paginate_keyset
from images.models import Image
from residents.models import Role
from tests import factories as f
from tests.community.conftest import make_image, make_post
from tests.conftest import assert_error


def _reference(viewer, neighborhood, section, limit) -> list[tuple[list, str | None]]:
    posts = visible_posts_for(viewer, neighborhood)
    if section:
        posts = posts.filter(section=section)
    pages, cursor = [], None
    while True:
        page = paginate_keyset(with_post_details(posts, viewer), ordering=FEED_ORDERING, cursor=cursor, limit=limit)
        pages.append((PostOutput(page.items, many=True).data, page.next_cursor))
        cursor = page.next_cursor
        if not cursor:
            return pages


def _fast(viewer, neighborhood, section, limit) -> list[tuple[list, str | None]]:
    pages, cursor = [], None
    while True:
        page = feed.feed_page(
            viewer=viewer, neighborhood_id=neighborhood.pk, section=section, cursor=cursor, limit=limit
        )
        pages.append((page["results"], page["next_cursor"]))
        cursor = page["next_cursor"]
        if not cursor:
            return pages


@pytest.fixture
def busy_feed(neighborhood, street, district, zhangsan, lisi, chenjuwei, liujiedao):
    """Every kind of row the feed must get right, with ties on created_at across pages."""
    f.RoleFactory(user=lisi, region=neighborhood, kind=Role.Kind.BUILDING_LEADER, title="3号楼楼组长")
    gone = f.resident(neighborhood, nickname="老王")
    admin = f.UserFactory()
    f.RoleFactory(user=admin, region=district, kind=Role.Kind.DISTRICT_ADMIN)
    same_moment = timezone.now() - dt.timedelta(days=1)
    specs = [
        (neighborhood, Post.Scope.NEIGHBORHOOD, lisi, ContentStatus.PUBLISHED, "neighbors"),
        (street, Post.Scope.STREET, liujiedao, ContentStatus.PUBLISHED, "notice"),
        (district, Post.Scope.DISTRICT, admin, ContentStatus.PUBLISHED, "notice"),
        (neighborhood, Post.Scope.NEIGHBORHOOD, zhangsan, ContentStatus.PENDING_REVIEW, "neighbors"),  # zhangsan's own
        (neighborhood, Post.Scope.NEIGHBORHOOD, lisi, ContentStatus.PENDING_CHECK, "neighbors"),  # not zhangsan's
        (neighborhood, Post.Scope.NEIGHBORHOOD, lisi, ContentStatus.REMOVED, "neighbors"),
        (neighborhood, Post.Scope.NEIGHBORHOOD, gone, ContentStatus.PUBLISHED, "neighbors"),
        (neighborhood, Post.Scope.NEIGHBORHOOD, chenjuwei, ContentStatus.PUBLISHED, "notice"),
    ]
    posts = []
    for i in range(40):
        region, scope, author, status, section = specs[i % len(specs)]
        posts.append(
            make_post(
                region,
                author,
                scope=scope,
                status=status,
                section=section,
                title=f"帖子{i}",
                is_pinned=(i % 13 == 0),
                comments_closed=(i % 7 == 0),
                answered_at=same_moment if i % 4 == 0 else None,
                edited_at=timezone.now() if i % 9 == 0 else None,
                created_at=same_moment if i % 3 else same_moment - dt.timedelta(minutes=i),
            )
        )
    for post in posts[::5]:
        for position, status in enumerate((Image.Status.PASSED, Image.Status.CHECKING, Image.Status.REJECTED)):
            PostImage.objects.create(post=post, image=make_image(post.author, status=status), position=position)
    for post in posts[::3]:
        Like.objects.create(post=post, user=zhangsan)
    gone.deleted_at = timezone.now()
    gone.save(update_fields=["deleted_at"])
    return posts


@pytest.mark.parametrize("limit", [3, 20])
@pytest.mark.parametrize("section", [None, "notice"])
def test_fast_feed_pages_equal_the_orm_reference(busy_feed, neighborhood, zhangsan, chenjuwei, liujiedao, section, limit):
    for viewer in (zhangsan, chenjuwei, liujiedao):
        fast, reference = _fast(viewer, neighborhood, section, limit), _reference(viewer, neighborhood, section, limit)
        assert fast == reference
        # The same bytes on the wire too (key order, no lazy strings, "Z"/"+08:00" times).
        assert JSONRenderer().render(fast) == JSONRenderer().render(reference)
    pages = _fast(zhangsan, neighborhood, section, limit)
    items = [item for page, _ in pages for item in page]
    assert len({item["id"] for item in items}) == len(items)  # no post twice across pages
    if section is None:
        own_pending = [i for i in items if i["status"] == ContentStatus.PENDING_REVIEW]
        assert own_pending and all(i["author"]["id"] == zhangsan.pk for i in own_pending)
        assert not any(i["status"] in (ContentStatus.PENDING_CHECK, ContentStatus.REMOVED) for i in items)
        assert {i["scope"] for i in items} == {"neighborhood", "street", "district"}
        assert "已注销用户" in {i["author"]["name"] for i in items}
        assert any(i["liked_by_me"] for i in items) and any(i["author"]["badges"] for i in items)
        others = [i for i in items if i["author"]["id"] != zhangsan.pk]
        assert {img["status"] for i in others for img in i["images"]} == {Image.Status.PASSED}


def test_an_author_sees_their_own_pictures_still_being_checked(busy_feed, neighborhood, lisi):
    mine = [i for page, _ in _fast(lisi, neighborhood, None, 20) for i in page if i["author"]["id"] == lisi.pk]
    assert {Image.Status.PASSED, Image.Status.CHECKING} <= {img["status"] for i in mine for img in i["images"]}


def test_the_feed_is_three_statements_whatever_the_page(api_for, neighborhood, street, zhangsan, lisi):
    for i in range(30):
        post = make_post(neighborhood, f.resident(neighborhood), title=f"帖{i}")
        PostImage.objects.create(post=post, image=make_image(post.author), position=0)
    api = api_for(zhangsan)
    url = f"/api/v1/neighborhoods/{neighborhood.id}/feed"
    first = api.get(url + "?limit=5").json()  # the token's first use writes last_used_at
    for query in ("?limit=5", "?limit=25", f"?limit=5&cursor={first['next_cursor']}"):
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url + query).status_code == 200
        # token, access profile (memberships + roles in one), the page with its badges and images
        assert len(ctx.captured_queries) == 3, [q["sql"][:80] for q in ctx.captured_queries]


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_a_cursor_of_the_wrong_shape_is_invalid_input_not_a_database_error(api_for, neighborhood, zhangsan):
    make_post(neighborhood, zhangsan)
    url = f"/api/v1/neighborhoods/{neighborhood.id}/feed?cursor="
    for values in ([True, "yesterday", 1], ["x", {"t": "2026-01-01T00:00:00+00:00"}, 1], [True, {"t": "2026-01-01T00:00:00+00:00"}, "1"]):
        assert_error(api_for(zhangsan).get(url + _cursor(values)), 400, "invalid_cursor")
    with pytest.raises(InvalidInput):
        feed.feed_page(viewer=zhangsan, neighborhood_id=neighborhood.pk, section=None, cursor=_cursor([1, 2]), limit=5)


def test_outsiders_and_pending_members_get_not_found(neighborhood, other_neighborhood, zhaoliu):
    pending = f.UserFactory()
    f.MembershipFactory(user=pending, neighborhood=neighborhood, status="pending")
    make_post(neighborhood, f.resident(neighborhood))
    for viewer in (zhaoliu, pending):
        with pytest.raises(NotFound):
            feed.feed_page(viewer=viewer, neighborhood_id=neighborhood.pk, section=None, cursor=None, limit=5)
    with pytest.raises(NotFound):
        feed.feed_page(viewer=zhaoliu, neighborhood_id=999_999, section=None, cursor=None, limit=5)
