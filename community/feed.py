"""The feed's hot path: a page of 社区通 as one SQL statement (after the access check) and plain dicts.

Opening 社区通 is the request residents make most. The ORM version of this page
(visible_posts_for() → with_post_details() → paginate_keyset() → PostOutput) spent most of
its time in Python: compiling five querysets, building 20 Post, User and Region instances,
decrypting every author's phone that the feed never shows, and nested serializers
(bench/README.md, "What the profiles showed"). Here the SQL text is built once per shape
(section or not, cursor or not; per database vendor), rows come back as tuples, and each
item is the dict PostOutput would have produced — tests/community/test_feed_fast_path.py
holds the two equal, page after page, for residents and staff, with broadcasts, pending
posts, hidden images, badges and likes.

The page query asks each source (the neighborhood, its street, its district: one region
and one status each, plus the viewer's own pending posts) for its next limit+1 ids in the
post_feed index's order, starting at the cursor with a row-value comparison, so page 1000
costs what page 1 costs; the page is cut from those ≤ 4 × (limit+1) rows. Each row brings its
author's badges and its images as JSON arrays (a correlated subquery each, on indexes), which
saved two round trips of the five a page had. The street and district are memoised per process.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache

from django.db import connection
from django.utils.dateparse import parse_datetime

from community.access import feed_visibility
from community.models import Like, Post, PostImage, sections
from community.queries import BADGE_LABELS, FEED_ORDERING
from core.errors import InvalidInput, NotFound
from core.memo import ProcessMemo
from core.pagination import decode_cursor, encode_cursor
from core.times import api_datetime, api_datetimes
from images.models import Image
from images.pipeline import absolute_url
from residents.access import can_read_neighborhood
from residents.models import Region, Role, User, display_name


def feed_page(*, viewer: User, neighborhood_id: int, section: str | None, cursor: str | None, limit: int) -> dict:
    """{"results": [...PostOutput dicts], "next_cursor": ...} for a member or staff of the
    neighborhood; NotFound for anyone else (the same answer as for a neighborhood that does
    not exist)."""
    if not can_read_neighborhood(viewer, neighborhood_id):
        raise NotFound()
    after: list = []
    if cursor:
        pinned, created_at, post_id = decode_cursor(cursor, len(FEED_ORDERING))
        if not isinstance(pinned, bool) or not isinstance(created_at, dt.datetime) or not isinstance(post_id, int):
            raise InvalidInput("invalid_cursor", "分页游标无效")
        after = [pinned, connection.ops.adapt_datetimefield_value(created_at), post_id]
    rule = feed_visibility(viewer.pk, reach(neighborhood_id))
    neighborhood, street, district = rule.regions
    part: list = [rule.published]
    if section:
        part.append(section)
    part += [*after, limit + 1]
    pending: list = [rule.viewer_id, *rule.own_pending]
    if section:
        pending.append(section)
    pending += [*after, limit + 1]
    params = [
        # The page's ids: each source's next limit+1, then the first limit+1 of those.
        neighborhood,
        *part,
        street,
        *part,
        district,
        *part,
        neighborhood,
        street,
        district,
        *pending,
        limit + 1,
        # Their rows.
        *Role.BADGE_KINDS,  # the authors' badges
        Image.Status.PASSED,  # the images: passed review, or the viewer's own
        viewer.pk,
        viewer.pk,  # liked_by_me
    ]
    with connection.cursor() as c:
        c.execute(_page_sql(connection.vendor, bool(section), bool(cursor)), params)
        rows = c.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = _items(rows)
    next_cursor = None
    if more and rows:
        last = items[-1]
        next_cursor = encode_cursor([last["is_pinned"], _aware(rows[-1][_CREATED_AT]), last["id"]])
    return {"results": items, "next_cursor": next_cursor}


# --- the region chain --------------------------------------------------------------------

REACH = ProcessMemo("community.reach", ttl_seconds=300)  # cleared by Region saves (community.apps)


def reach(neighborhood_id: int) -> tuple[int, int | None, int | None]:
    """(neighborhood, street, district): the regions whose posts show in this feed.

    The 居委 → 街道 → 区 chain is reference data that changes with an administrative re-zoning,
    not with use, so each process keeps it for a few minutes (core.memo)."""
    return REACH.get(neighborhood_id, _load_reach)


def _load_reach(neighborhood_id: int) -> tuple[int, int | None, int | None]:
    with connection.cursor() as c:
        c.execute(_reach_sql(), [neighborhood_id])
        row = c.fetchone()
    return (neighborhood_id, row[0], row[1]) if row else (neighborhood_id, None, None)


@cache
def _reach_sql() -> str:
    region, parent, pk = Region._meta.db_table, _column(Region, "parent"), _column(Region, "id")
    return (
        f"SELECT n.{parent}, s.{parent} FROM {region} n LEFT JOIN {region} s ON s.{pk} = n.{parent}"
        f" WHERE n.{pk} = %s"
    )


# --- SQL ---------------------------------------------------------------------------------

def _column(model, field: str) -> str:
    """A field's column name, from the model (`_meta`): the SQL follows a renamed column."""
    return model._meta.get_field(field).column


# The row's columns, as (table alias, model field); the alias's model is in _ALIASES.
_COLUMNS = (
    ("p", "id"),
    ("p", "region"),
    ("r", "name"),
    ("r", "level"),
    ("p", "scope"),
    ("p", "section"),
    ("p", "title"),
    ("p", "body"),
    ("p", "status"),
    ("p", "author"),
    ("u", "nickname"),
    ("u", "first_name"),
    ("u", "last_name"),
    ("u", "username"),
    ("u", "deleted_at"),
    ("u", "avatar_url"),
    ("p", "like_count"),
    ("p", "comment_count"),
    ("l", "id"),  # liked_by_me
    ("p", "is_pinned"),
    ("p", "comments_closed"),
    ("p", "needs_answer"),
    ("p", "answered_at"),
    ("p", "created_at"),
    ("p", "edited_at"),
)
_ALIASES = {"p": Post, "r": Region, "u": User, "l": Like}
_CREATED_AT = _COLUMNS.index(("p", "created_at"))
# Each row also carries its author's badges and its images, as JSON arrays of arrays (sorted in
# Python: SQLite before 3.44 cannot order inside an aggregate), so the page is one statement.
_JSON = {
    "postgresql": ("json_agg(json_build_array({}))::text", "COALESCE({}, '[]')"),
    "sqlite": ("json_group_array(json_array({}))", "{}"),
}


@cache
def _page_sql(vendor: str, with_section: bool, with_cursor: bool) -> str:
    post, region, user, like = (
        Post._meta.db_table,
        Region._meta.db_table,
        User._meta.db_table,
        Like._meta.db_table,
    )
    P = {name: _column(Post, name) for name in ("id", "region", "author", "status", "section", "is_pinned", "created_at")}
    n_pending = len(feed_visibility(0, ()).own_pending)
    extra = (f" AND {P['section']} = %s" if with_section else "") + (
        f" AND ({P['is_pinned']}, {P['created_at']}, {P['id']}) < (%s, %s, %s)" if with_cursor else ""
    )
    order = f"ORDER BY {P['is_pinned']} DESC, {P['created_at']} DESC, {P['id']} DESC"
    # Wrapped in a SELECT each: SQLite allows no LIMIT directly inside a UNION member. The sources
    # are disjoint (by region, or pending against published), so UNION ALL repeats no post.
    # The visibility rule's parameters come from community.access.feed_visibility.
    keys = f"{P['id']}, {P['is_pinned']}, {P['created_at']}"
    parts = [
        f"SELECT {keys} FROM (SELECT {keys} FROM {post} WHERE {P['region']} = %s AND {P['status']} = %s{extra}"
        f" {order} LIMIT %s) f{i}"
        for i in range(3)
    ]
    parts.append(
        f"SELECT {keys} FROM (SELECT {keys} FROM {post} WHERE {P['region']} IN (%s, %s, %s) AND {P['author']} = %s"
        f" AND {P['status']} IN ({', '.join(['%s'] * n_pending)}){extra} {order} LIMIT %s) f3"
    )
    aggregate, empty = _JSON[vendor]
    kind, role_id, title, holder, revoked_at = (_column(Role, n) for n in ("kind", "id", "title", "user", "revoked_at"))
    badge_columns = f"b.{kind}, b.{role_id}, b.{title}"
    badges = empty.format(
        f"(SELECT {aggregate.format(badge_columns)} FROM {Role._meta.db_table} b"
        f" WHERE b.{holder} = p.{P['author']} AND b.{revoked_at} IS NULL"
        f" AND b.{kind} IN ({', '.join(['%s'] * len(Role.BADGE_KINDS))}))"
    )
    position, link_id, linked_image, linked_post = (_column(PostImage, n) for n in ("position", "id", "image", "post"))
    image_id, image_status, thumbnail, owner = (_column(Image, n) for n in ("id", "status", "thumbnail", "owner"))
    image_columns = f"pi.{position}, pi.{link_id}, i.{image_id}, i.{image_status}, i.{thumbnail}"
    images = empty.format(
        f"(SELECT {aggregate.format(image_columns)}"
        f" FROM {PostImage._meta.db_table} pi JOIN {Image._meta.db_table} i ON i.{image_id} = pi.{linked_image}"
        f" WHERE pi.{linked_post} = p.{P['id']} AND (i.{image_status} = %s OR i.{owner} = %s))"
    )
    columns = ", ".join([*(f"{alias}.{_column(_ALIASES[alias], name)}" for alias, name in _COLUMNS), badges, images])
    rid, uid = _column(Region, "id"), _column(User, "id")
    like_post, like_user = _column(Like, "post"), _column(Like, "user")
    # The page's ids first (from the index alone), then the joins for those rows only: planning
    # the joins against the union directly cost PostgreSQL more than running the whole page.
    return (
        f"WITH page AS MATERIALIZED (SELECT {keys} FROM ({' UNION ALL '.join(parts)}) ids {order} LIMIT %s)"
        f" SELECT {columns} FROM page JOIN {post} p ON p.{P['id']} = page.{P['id']}"
        f" JOIN {region} r ON r.{rid} = p.{P['region']}"
        f" JOIN {user} u ON u.{uid} = p.{P['author']}"
        f" LEFT JOIN {like} l ON l.{like_post} = p.{P['id']} AND l.{like_user} = %s"
        f" ORDER BY page.{P['is_pinned']} DESC, page.{P['created_at']} DESC, page.{P['id']} DESC"
    )


# --- rows → PostOutput dicts -------------------------------------------------------------


def _aware(value) -> dt.datetime | None:
    """PostgreSQL returns aware datetimes; SQLite returns UTC as naive values or text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _dt(value, write=api_datetime) -> str | None:
    """DRF's formatting (current time zone, ISO 8601, "Z" for UTC; core/times.py)."""
    return write(_aware(value))


def _badges(encoded: str) -> list[dict]:
    """The author's badges, one per kind, from the row's JSON [[kind, role id, title], …]."""
    out: dict[str, dict] = {}
    for kind, _role_id, title in sorted(json.loads(encoded)):
        out.setdefault(kind, {"kind": kind, "label": BADGE_LABELS[kind], "title": title})
    return list(out.values())


def _images(encoded: str) -> list[dict]:
    """The post's images the viewer may see, in order, from [[position, link id, id, status, thumbnail], …]."""
    return [
        {"id": image_id, "status": status, "thumbnail_url": absolute_url(thumbnail)}
        for _position, _link_id, image_id, status, thumbnail in sorted(json.loads(encoded))
    ]


def _items(rows: list[tuple]) -> list[dict]:
    names = {s["key"]: s["name"] for s in sections()}
    write = api_datetimes()  # the current time zone, looked up once a page
    items = []
    for (
        post_id,
        region_id,
        region_name,
        region_level,
        scope,
        section,
        title,
        body,
        status,
        author_id,
        nickname,
        first_name,
        last_name,
        username,
        deleted_at,
        avatar_url,
        like_count,
        comment_count,
        like_id,
        is_pinned,
        comments_closed,
        needs_answer,
        answered_at,
        created_at,
        edited_at,
        badges,
        images,
    ) in rows:
        name = display_name(nickname, first_name, last_name, username, deleted_at)
        items.append(
            {
                "id": post_id,
                "region": {"id": region_id, "name": region_name, "level": region_level},
                "scope": scope,
                "section": section,
                "section_name": names.get(section, section),
                "title": title,
                "body": body,
                "status": status,
                "author": {
                    "id": author_id,
                    "name": name,
                    "avatar_url": avatar_url,
                    "badges": _badges(badges),
                },
                "images": _images(images),
                "like_count": like_count,
                "comment_count": comment_count,
                "liked_by_me": like_id is not None,
                "is_pinned": bool(is_pinned),
                "comments_closed": bool(comments_closed),
                "needs_answer": bool(needs_answer),
                "answered_at": _dt(answered_at, write),
                "created_at": _dt(created_at, write),
                "edited_at": _dt(edited_at, write),
            }
        )
    return items
