"""Who may read, write and moderate in the feed. Not-allowed answers exactly like not-found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from community.models import AnswererRole, Comment, ContentStatus, Mute, Post
from core.errors import Forbidden, NotFound
from residents.access import can_moderate, can_read_neighborhood, is_staff_for, profile
from residents.models import Region, Role, User


def reach_of(neighborhood: Region) -> list[int]:
    """The region ids whose posts show in this neighborhood's feed: itself, its street, its district."""
    ids = [neighborhood.pk]
    if neighborhood.parent_id:
        ids.append(neighborhood.parent_id)
        street = neighborhood.parent
        if street is not None and street.parent_id:
            ids.append(street.parent_id)
    return ids


def readable_region_ids(user: User) -> set[int]:
    """Regions whose posts the user may read: neighborhoods they belong to or staff, and the
    streets/districts above them (for broadcasts)."""
    p = profile(user)
    neighborhoods = set(p.member_of) | set(p.staff_of)
    if not neighborhoods:
        return set()
    ids = set(neighborhoods)
    streets = set(Region.objects.filter(pk__in=neighborhoods).values_list("parent_id", flat=True)) - {None}
    ids |= streets
    ids |= set(Region.objects.filter(pk__in=streets).values_list("parent_id", flat=True)) - {None}
    return ids


def can_moderate_post(user: User, post: Post) -> bool:
    p = profile(user)
    if post.scope == Post.Scope.NEIGHBORHOOD:
        return can_moderate(user, post.region_id)
    if post.scope == Post.Scope.STREET:
        return post.region_id in p.staff_streets
    return p.has_role(Role.Kind.DISTRICT_ADMIN, post.region_id)


def can_answer_officially(user: User, post: Post) -> bool:
    """Committee staff of the post's neighborhood, or an officer above it."""
    if post.scope == Post.Scope.NEIGHBORHOOD:
        return is_staff_for(user, post.region_id)
    return can_moderate_post(user, post)


def answerer_role(user: User, post: Post) -> str:
    """The capacity in which an official reply answers the post: the neighborhood's committee
    first, then the street, then the district (call only for someone who may answer)."""
    p = profile(user)
    if post.scope == Post.Scope.NEIGHBORHOOD and p.has_role(Role.Kind.COMMITTEE_STAFF, post.region_id):
        return AnswererRole.COMMITTEE_STAFF
    if p.has_role(Role.Kind.STREET_OFFICER):
        return AnswererRole.STREET_OFFICER
    return AnswererRole.DISTRICT_ADMIN


def _post_visible(user: User, post: Post) -> bool:
    if post.scope == Post.Scope.NEIGHBORHOOD:
        readable = can_read_neighborhood(user, post.region_id)
    else:
        readable = post.region_id in readable_region_ids(user)
    if not readable:
        return False
    if post.status == ContentStatus.PUBLISHED:
        return True
    if post.status in (ContentStatus.REMOVED, ContentStatus.DELETED):
        return False
    return post.author_id == user.pk or can_moderate_post(user, post)


def access_post(user: User, post_id: int, *, for_update: bool = False) -> Post:
    """The post if the user may see it; NotFound otherwise (also for other neighborhoods')."""
    qs = Post.objects.select_related("region", "author")
    if for_update:
        qs = Post.objects.select_for_update()
    post = qs.filter(pk=post_id).first()
    if post is None or not _post_visible(user, post):
        raise NotFound()
    return post


def access_post_for_moderation(user: User, post_id: int) -> Post:
    post = Post.objects.select_related("region", "author").filter(pk=post_id).first()
    if post is None or not can_moderate_post(user, post):
        raise NotFound()
    return post


def access_comment(user: User, comment_id: int) -> Comment:
    comment = Comment.objects.select_related("post", "author").filter(pk=comment_id).first()
    if comment is None or not _post_visible(user, comment.post):
        raise NotFound()
    if comment.status == ContentStatus.PUBLISHED:
        return comment
    if comment.status not in (ContentStatus.REMOVED, ContentStatus.DELETED) and (
        comment.author_id == user.pk or can_moderate_post(user, comment.post)
    ):
        return comment
    raise NotFound()


def access_comment_for_moderation(user: User, comment_id: int) -> Comment:
    comment = Comment.objects.select_related("post", "author").filter(pk=comment_id).first()
    if comment is None or not can_moderate_post(user, comment.post):
        raise NotFound()
    return comment


@dataclass(frozen=True)
class FeedVisibility:
    """Which posts a neighborhood's feed shows a viewer: the posts of the regions that reach it
    (the neighborhood, its street, its district) that are `published`, plus the viewer's own
    posts there still in one of `own_pending` (waiting for the content check or a review).

    The one statement of the rule: the ORM path (`visible_posts_for`) filters with `as_q()`, and
    the feed's SQL (community/feed.py) takes its parameters from the same object."""

    regions: tuple[int | None, ...]  # (neighborhood, street, district); None where there is none
    viewer_id: int
    published: str = ContentStatus.PUBLISHED
    own_pending: tuple[str, ...] = (ContentStatus.PENDING_CHECK, ContentStatus.PENDING_REVIEW)

    def as_q(self) -> Q:
        regions = [r for r in self.regions if r is not None]
        own_pending = Q(author_id=self.viewer_id, status__in=self.own_pending)
        return Q(region_id__in=regions) & (Q(status=self.published) | own_pending)


def feed_visibility(viewer_id: int, reach: Sequence[int | None]) -> FeedVisibility:
    """The feed's visibility rule for a viewer and a neighborhood's reach (`reach_of`, or
    `community.feed.reach` for the memoised chain)."""
    return FeedVisibility(regions=tuple(reach), viewer_id=viewer_id)


def visible_posts_for(user: User, neighborhood: Region) -> QuerySet[Post]:
    """Posts in this neighborhood's feed: published ones that reach it, plus the user's own still waiting for a check."""
    return Post.objects.filter(feed_visibility(user.pk, reach_of(neighborhood)).as_q())


def neighborhoods_reached(post: Post) -> list[int]:
    if post.scope == Post.Scope.NEIGHBORHOOD:
        return [post.region_id]
    if post.scope == Post.Scope.STREET:
        return list(Region.objects.filter(level=Region.Level.NEIGHBORHOOD, parent_id=post.region_id).values_list("id", flat=True))
    return list(
        Region.objects.filter(level=Region.Level.NEIGHBORHOOD, parent__parent_id=post.region_id).values_list("id", flat=True)
    )


def active_mute(user: User, neighborhood_ids: list[int]) -> Mute | None:
    return Mute.objects.filter(user=user, neighborhood_id__in=neighborhood_ids, until__gt=timezone.now()).first()


def require_not_muted(user: User, post_region: Region, scope: str) -> None:
    """A muted user may not post or comment where the mute applies."""
    if scope == Post.Scope.NEIGHBORHOOD:
        ids = [post_region.pk]
    else:
        ids = list(profile(user).member_of)
    mute = active_mute(user, ids)
    if mute is not None:
        raise Forbidden("muted", "您已被禁言，暂时不能发言", until=mute.until.isoformat())


def moderated_neighborhood_ids(user: User) -> set[int]:
    p = profile(user)
    return set(p.staff_of) | set(p.roles.get(Role.Kind.MODERATOR, frozenset()))
