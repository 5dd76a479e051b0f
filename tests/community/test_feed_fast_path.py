"""The feed builds its items as plain dicts (the hot path); they must be exactly what the
documented PostOutput serializer would return, so the schema and the clients stay right."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from community import queries
from community.models import Like, PostImage
from community.serializers import PostOutput
from core.models import Image
from residents.models import Role
from tests import factories as f
from tests.community.conftest import make_image, make_post


def test_feed_items_equal_what_the_post_serializer_returns(neighborhood, street, lisi, chenjuwei, liujiedao, zhangsan):
    f.RoleFactory(user=lisi, region=neighborhood, kind=Role.Kind.BUILDING_LEADER, title="3号楼楼组长")
    plain = make_post(neighborhood, zhangsan, title="楼道灯坏了")
    badged = make_post(neighborhood, lisi, section="notice", is_pinned=True, comments_closed=True)
    answered = make_post(neighborhood, lisi, answered_at=timezone.now() - dt.timedelta(hours=1), edited_at=timezone.now())
    make_post(street, liujiedao, scope="street", section="notice", title="街道通知")
    make_post(neighborhood, chenjuwei, title="居委回复")
    for position, status in enumerate((Image.Status.PASSED, Image.Status.CHECKING, Image.Status.PASSED)):
        PostImage.objects.create(post=badged, image=make_image(lisi, status=status), position=position)
    PostImage.objects.create(post=plain, image=make_image(zhangsan, status=Image.Status.CHECKING), position=0)
    Like.objects.create(post=answered, user=zhangsan)
    for viewer in (zhangsan, chenjuwei):
        page = queries.feed_page(viewer=viewer, neighborhood=neighborhood, section=None, cursor=None, limit=20)
        assert len(page.items) == 5
        fast = queries.feed_items(page.items)
        assert fast == PostOutput(page.items, many=True).data
        # The same bytes on the wire too (key order, no lazy strings).
        assert JSONRenderer().render(fast) == JSONRenderer().render(PostOutput(page.items, many=True).data)


def test_feed_page_costs_five_queries_after_the_first_request(api_for, neighborhood, street, zhangsan, lisi):
    for i in range(3):
        make_post(neighborhood, lisi, title=f"帖{i}")
    api = api_for(zhangsan)
    url = f"/api/v1/neighborhoods/{neighborhood.id}/feed"
    api.get(url)  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    # token, access profile (memberships + roles in one), neighborhood with its parents, posts,
    # badges, images
    assert len(ctx.captured_queries) <= 6, [q["sql"][:80] for q in ctx.captured_queries]
