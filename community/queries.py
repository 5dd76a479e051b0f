"""Read models for the feed: a fixed number of SQL queries whatever the page size."""

from __future__ import annotations

import datetime as dt

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
from django.db.models.functions import Coalesce
from django.utils import timezone

from community.access import moderated_neighborhood_ids
from community.models import GONE_STATUSES, Comment, ContentStatus, Like, Mute, Post, PostImage, Report
from core.errors import Forbidden, NotFound
from core.pagination import Page, paginate_keyset
from residents.access import profile, require_staff
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
        PostImage.objects.visible_to(viewer)
        .select_related("image")
        .order_by("position", "id")
    )
    return (
        queryset.select_related("author", "region", "answered_by")
        .prefetch_related(_badge_prefetch("author__roles"), Prefetch("post_images", queryset=images, to_attr="visible_images"))
        .annotate(liked_by_me=Exists(Like.objects.filter(post=OuterRef("pk"), user_id=viewer.pk)))
    )


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


def _unanswered_posts(region_ids: set[int] | frozenset[int]) -> QuerySet[Post]:
    return Post.objects.filter(
        region_id__in=region_ids,
        scope=Post.Scope.NEIGHBORHOOD,
        needs_answer=True,
        answered_at__isnull=True,
        status=ContentStatus.PUBLISHED,
    )


# Earliest deadline first: every overdue post (deadline passed) comes before every post still in
# time, and the order does not move under a cursor as the clock runs.
UNANSWERED_ORDERING = ("answer_due_at", "id")


def unanswered_page(
    *, viewer: User, neighborhood_id: int | None, overdue: bool | None = None, cursor: str | None, limit: int,
    now: dt.datetime | None = None,
) -> Page:
    """发帖必响应: resident posts without an official reply in the staff member's region, overdue
    first (earliest deadline first). `overdue` True/False keeps only those past / within their deadline."""
    p = require_staff(viewer)
    region_ids = set(p.staff_of)
    if neighborhood_id is not None:
        if neighborhood_id not in region_ids:
            raise NotFound()
        region_ids = {neighborhood_id}
    posts = _unanswered_posts(region_ids)
    now = now or timezone.now()
    if overdue is True:
        posts = posts.filter(answer_due_at__lt=now)
    elif overdue is False:
        posts = posts.filter(answer_due_at__gte=now)
    return paginate_keyset(with_post_details(posts, viewer), ordering=UNANSWERED_ORDERING, cursor=cursor, limit=limit)


MY_POSTS_ORDERING = ("-created_at", "-id")


def my_posts_page(*, viewer: User, status: str | None, cursor: str | None, limit: int) -> Page:
    """The viewer's own posts, newest first: published, pending and hidden ones (which the feed does
    not show), wherever they were posted. Removed and deleted ones are left out, as GET /posts/{id}
    answers 404 for them."""
    posts = Post.objects.filter(author_id=viewer.pk).exclude(status__in=GONE_STATUSES)
    if status is not None:
        posts = posts.filter(status=status)
    return paginate_keyset(with_post_details(posts, viewer), ordering=MY_POSTS_ORDERING, cursor=cursor, limit=limit)


def unanswered_count_for(user: User) -> int:
    """How many posts `unanswered_page` holds for this user over all their neighborhoods (0 for non-staff)."""
    region_ids = profile(user).staff_of
    return _unanswered_posts(region_ids).count() if region_ids else 0


MUTES_ORDERING = ("-created_at", "-id")


def mutes_page(*, neighborhood: Region, active_only: bool, cursor: str | None, limit: int) -> Page:
    """Mutes in one neighborhood, newest first, with the muted user's and the moderator's names
    (one query per page). The caller checked that the viewer moderates the neighborhood."""
    mutes = Mute.objects.filter(neighborhood=neighborhood).select_related("user", "created_by")
    if active_only:
        mutes = mutes.filter(until__gt=timezone.now())
    return paginate_keyset(mutes, ordering=MUTES_ORDERING, cursor=cursor, limit=limit)


def _open_reports(**outer: OuterRef) -> Coalesce:
    counted = (
        Report.objects.filter(status=Report.Status.OPEN, **outer)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _moderation_items(region_ids: set[int], kind: str) -> QuerySet:
    """Held for review, hidden by reports, or published with open reports."""
    if kind == "comment":
        has_reports = Exists(Report.objects.filter(comment=OuterRef("pk"), status=Report.Status.OPEN))
        return Comment.objects.filter(post__region_id__in=region_ids).filter(
            Q(status=ContentStatus.PENDING_REVIEW)
            | Q(status=ContentStatus.HIDDEN, hidden_by_reports=True)
            | Q(has_reports, status=ContentStatus.PUBLISHED)
        )
    has_reports = Exists(Report.objects.filter(post=OuterRef("pk"), comment__isnull=True, status=Report.Status.OPEN))
    return Post.objects.filter(region_id__in=region_ids).filter(
        Q(status=ContentStatus.PENDING_REVIEW)
        | Q(status=ContentStatus.HIDDEN, hidden_by_reports=True)
        | Q(has_reports, status=ContentStatus.PUBLISHED)
    )


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
        items = (
            _moderation_items(region_ids, "comment")
            .select_related("author", "post")
            .prefetch_related(_badge_prefetch("author__roles"))
            .annotate(open_report_count=_open_reports(comment=OuterRef("pk")))
        )
    else:
        items = with_post_details(_moderation_items(region_ids, "post"), viewer).annotate(
            open_report_count=_open_reports(post=OuterRef("pk"), comment__isnull=True)
        )
    return paginate_keyset(items, ordering=OLDEST_FIRST, cursor=cursor, limit=limit)


def moderation_queue_count_for(user: User) -> int:
    """How many posts and comments `moderation_queue_page` holds for this user (0 for non-moderators)."""
    region_ids = moderated_neighborhood_ids(user)
    if not region_ids:
        return 0
    return _moderation_items(region_ids, "post").count() + _moderation_items(region_ids, "comment").count()
