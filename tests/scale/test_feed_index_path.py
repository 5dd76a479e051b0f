"""The feed's index-friendly query (community.queries._feed_candidates) returns exactly the
posts and order of visible_posts_for(), page after page, including ties on created_at."""

import datetime as dt

import pytest
from django.utils import timezone

from community.access import visible_posts_for
from community.models import ContentStatus, Post
from community.queries import FEED_ORDERING, feed_page
from tests import factories as f


@pytest.mark.django_db
def test_walking_the_feed_gives_every_visible_post_once_in_order(neighborhood, street, district):
    me = f.resident(neighborhood)
    neighbor = f.resident(neighborhood)
    same_moment = timezone.now() - dt.timedelta(days=1)
    specs = [
        (neighborhood, Post.Scope.NEIGHBORHOOD, neighbor, ContentStatus.PUBLISHED),
        (street, Post.Scope.STREET, neighbor, ContentStatus.PUBLISHED),
        (district, Post.Scope.DISTRICT, neighbor, ContentStatus.PUBLISHED),
        (neighborhood, Post.Scope.NEIGHBORHOOD, me, ContentStatus.PENDING_REVIEW),  # mine, still visible to me
        (neighborhood, Post.Scope.NEIGHBORHOOD, neighbor, ContentStatus.PENDING_REVIEW),  # not mine: hidden
        (neighborhood, Post.Scope.NEIGHBORHOOD, neighbor, ContentStatus.REMOVED),
    ]
    for i in range(30):
        region, scope, author, status = specs[i % len(specs)]
        Post.objects.create(
            region=region,
            scope=scope,
            section="neighbors",
            author=author,
            title=f"帖子{i}",
            body="内容",
            status=status,
            is_pinned=(i % 11 == 0),
            created_at=same_moment if i % 3 else same_moment - dt.timedelta(minutes=i),
        )
    expected = list(visible_posts_for(me, neighborhood).order_by(*FEED_ORDERING).values_list("id", flat=True))
    walked, cursor = [], None
    while True:
        page = feed_page(viewer=me, neighborhood=neighborhood, section=None, cursor=cursor, limit=4)
        walked += [p.id for p in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert walked == expected
    assert len(expected) == 20
