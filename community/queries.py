"""Read models for the feed: a fixed number of SQL queries whatever the page size."""

from __future__ import annotations

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from community.access import moderated_neighborhood_ids, reach_of
from community.models import Comment, ContentStatus, Like, Post, PostImage, Report
from core.errors import Forbidden, NotFound
from core.models import Image
from core.pagination import Page, decode_cursor, paginate_keyset
from residents.access import require_staff
from residents.models import Region, Role, User

FEED_ORDERING = ("-is_pinned", "-created_at", "-id")
OLDEST_FIRST = ("created_at", "id")

BADGE_LABELS = {
    Role.Kind.PARTY_MEMBER: "党员",
    Role.Kind.BUILDING_LEADER: "楼组长",
    Role.Kind.COMMITTEE_STAFF: "居委",
    Role.Kind.STREET_OFFICER: "街道",
}


def _badge_prefetch(path: str) -> Prefetch:
    return Prefetch(
        path,
        queryset=Role.objects.filter(revoked_at__isnull=True, kind__in=Role.BADGE_KINDS).order_by("kind", "id"),
        to_attr="badge_roles",
    )


def badges_of(user: User) -> list[dict]:
    """The verified roles shown next to a name (needs the badge prefetch)."""
    seen: dict[str, dict] = {}
    for role in getattr(user, "badge_roles", []):
        seen.setdefault(role.kind, {"kind": role.kind, "label": BADGE_LABELS[role.kind], "title": role.title})
    return list(seen.values())


def with_post_details(queryset: QuerySet[Post], viewer: User) -> QuerySet[Post]:
    """Author + badges, the images the viewer may see, and liked_by_me: four queries for any page."""
    images = (
        PostImage.objects.filter(Q(image__status=Image.Status.PASSED) | Q(image__owner_id=viewer.pk))
        .select_related("image")
        .order_by("position", "id")
    )
    return (
        queryset.select_related("author", "region")
        .prefetch_related(_badge_prefetch("author__roles"), Prefetch("post_images", queryset=images, to_attr="visible_images"))
        .annotate(liked_by_me=Exists(Like.objects.filter(post=OuterRef("pk"), user_id=viewer.pk)))
    )


def feed_page(*, viewer: User, neighborhood: Region, section: str | None, cursor: str | None, limit: int) -> Page:
    posts = Post.objects.filter(pk__in=_feed_candidates(viewer, neighborhood, section, cursor, limit))
    return paginate_keyset(with_post_details(posts, viewer), ordering=FEED_ORDERING, cursor=cursor, limit=limit)


def _feed_candidates(viewer: User, neighborhood: Region, section: str | None, cursor: str | None, limit: int) -> RawSQL:
    """The ids that can be on this page: the next limit+1 of each source, as one subquery.

    visible_posts_for() as a single filter (region IN (…) AND (published OR own pending))
    cannot walk the post_feed index in order, so PostgreSQL sorted every post of the
    neighborhood on each request (bench/README.md: ~700k rows in a busy one). Each part
    here is one region and one status, so it is an ordered index range scan that starts
    at the cursor (a row-value comparison, all three keys descending like the index) and
    stops after limit+1 rows; page 1000 costs what page 1 costs. Same posts as
    visible_posts_for(), still one SQL query.
    """
    reach = reach_of(neighborhood)
    sources = [Post.objects.filter(region_id=region_id, status=ContentStatus.PUBLISHED) for region_id in reach]
    sources.append(
        Post.objects.filter(
            region_id__in=reach, author_id=viewer.pk, status__in=[ContentStatus.PENDING_CHECK, ContentStatus.PENDING_REVIEW]
        )
    )
    after = None
    if cursor:
        pinned, created_at, post_id = decode_cursor(cursor, len(FEED_ORDERING))
        # Raw SQL gets no field adaptation: store-format the timestamp (SQLite keeps text).
        after = [pinned, connection.ops.adapt_datetimefield_value(created_at), post_id]
    table = connection.ops.quote_name(Post._meta.db_table)
    parts, params = [], []
    for i, source in enumerate(sources):
        if section:
            source = source.filter(section=section)
        if after is not None:
            source = source.extra(where=[f"({table}.is_pinned, {table}.created_at, {table}.id) < (%s, %s, %s)"], params=after)
        sql, part_params = source.order_by(*FEED_ORDERING).values("id")[: limit + 1].query.sql_with_params()
        # Wrapped, because SQLite allows no LIMIT directly inside a UNION member.
        parts.append(f"SELECT id FROM ({sql}) feed_part_{i}")
        params.extend(part_params)
    return RawSQL(" UNION ALL ".join(parts), params)


def post_detail(*, viewer: User, post_id: int) -> Post:
    post = with_post_details(Post.objects.filter(pk=post_id), viewer).first()
    if post is None:
        raise NotFound()
    return post


def comments_page(*, viewer: User, post: Post, cursor: str | None, limit: int) -> Page:
    """Comments and replies oldest first (replies carry parent_id), published plus the viewer's own pending."""
    own_pending = Q(author_id=viewer.pk, status__in=[ContentStatus.PENDING_CHECK, ContentStatus.PENDING_REVIEW])
    comments = (
        Comment.objects.filter(post=post)
        .filter(Q(status=ContentStatus.PUBLISHED) | own_pending)
        .select_related("author")
        .prefetch_related(_badge_prefetch("author__roles"))
    )
    return paginate_keyset(comments, ordering=OLDEST_FIRST, cursor=cursor, limit=limit)


def unanswered_page(*, viewer: User, neighborhood_id: int | None, cursor: str | None, limit: int) -> Page:
    """发帖必响应: resident posts without an official reply in the staff member's region, oldest first."""
    p = require_staff(viewer)
    region_ids = set(p.staff_of)
    if neighborhood_id is not None:
        if neighborhood_id not in region_ids:
            raise NotFound()
        region_ids = {neighborhood_id}
    posts = Post.objects.filter(
        region_id__in=region_ids,
        scope=Post.Scope.NEIGHBORHOOD,
        needs_answer=True,
        answered_at__isnull=True,
        status=ContentStatus.PUBLISHED,
    )
    return paginate_keyset(with_post_details(posts, viewer), ordering=OLDEST_FIRST, cursor=cursor, limit=limit)


def _open_reports(**outer: OuterRef) -> Coalesce:
    counted = (
        Report.objects.filter(status=Report.Status.OPEN, **outer)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def moderation_queue_page(
    *, viewer: User, neighborhood_id: int | None, kind: str, cursor: str | None, limit: int
) -> Page:
    """What needs a moderator: held for review, hidden by reports, or published with open reports; oldest first."""
    region_ids = moderated_neighborhood_ids(viewer)
    if not region_ids:
        raise Forbidden("not_moderator", "仅限版主或居委工作人员")
    if neighborhood_id is not None:
        if neighborhood_id not in region_ids:
            raise NotFound()
        region_ids = {neighborhood_id}
    if kind == "comment":
        has_reports = Exists(Report.objects.filter(comment=OuterRef("pk"), status=Report.Status.OPEN))
        items = (
            Comment.objects.filter(post__region_id__in=region_ids)
            .filter(
                Q(status=ContentStatus.PENDING_REVIEW)
                | Q(status=ContentStatus.HIDDEN, hidden_by_reports=True)
                | Q(has_reports, status=ContentStatus.PUBLISHED)
            )
            .select_related("author", "post")
            .prefetch_related(_badge_prefetch("author__roles"))
            .annotate(open_report_count=_open_reports(comment=OuterRef("pk")))
        )
    else:
        has_reports = Exists(
            Report.objects.filter(post=OuterRef("pk"), comment__isnull=True, status=Report.Status.OPEN)
        )
        items = with_post_details(
            Post.objects.filter(region_id__in=region_ids).filter(
                Q(status=ContentStatus.PENDING_REVIEW)
                | Q(status=ContentStatus.HIDDEN, hidden_by_reports=True)
                | Q(has_reports, status=ContentStatus.PUBLISHED)
            ),
            viewer,
        ).annotate(open_report_count=_open_reports(post=OuterRef("pk"), comment__isnull=True))
    return paginate_keyset(items, ordering=OLDEST_FIRST, cursor=cursor, limit=limit)
