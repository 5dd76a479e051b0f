"""Who may see a topic and who may take part in it.

Seeing: approved or pending members of the neighborhood (a building-group topic: only
members of that group) and staff of the neighborhood. Everyone else gets 404.
Taking part (support, reply, vote, evaluate): only an approved membership in scope;
a pending member sees the topic and gets 403 `not_verified`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet

from core.errors import Forbidden, NotFound
from deliberation.models import ContentStatus, Topic
from residents.access import profile
from residents.models import Membership, User


@dataclass(frozen=True)
class Home:
    neighborhood_id: int
    building_group_id: int | None
    status: str
    user_id: int
    household_key: str
    is_owner: bool
    floor_area: Decimal

    @property
    def voter_household(self) -> str:
        # Members without a recorded room count as their own household.
        return f"h:{self.household_key}" if self.household_key else f"u:{self.user_id}"


def homes(user: User) -> list[Home]:
    """The user's active memberships, memoised for the request like residents.access.profile."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_deliberation_homes", None)
    if cached is not None:
        return cached
    rows = Membership.objects.filter(user=user, status__in=Membership.ACTIVE_STATUSES).values_list(
        "neighborhood_id", "building_group_id", "status", "household_key", "is_owner", "floor_area"
    )
    result = [Home(n, g, s, user.pk, hk or "", bool(owner), area or Decimal(0)) for n, g, s, hk, owner, area in rows]
    user._deliberation_homes = result
    return result


def home_in_scope(user: User, topic: Topic) -> Home | None:
    for home in homes(user):
        if home.neighborhood_id != topic.neighborhood_id:
            continue
        if topic.building_group_id and home.building_group_id != topic.building_group_id:
            continue
        return home
    return None


def is_topic_staff(user: User, topic: Topic) -> bool:
    return topic.neighborhood_id in profile(user).staff_of


def visible_topics_for(user: User) -> QuerySet[Topic]:
    """Staff see every topic of their neighborhoods (held ones too: they review them); residents
    see published topics in their scope, and their own unless staff removed it."""
    condition = Q(neighborhood_id__in=profile(user).staff_of)
    readable = Q(content_status=ContentStatus.PUBLISHED) | (
        Q(author_id=user.pk) & ~Q(content_status=ContentStatus.REMOVED)
    )
    for home in homes(user):
        in_home = Q(neighborhood_id=home.neighborhood_id)
        if home.building_group_id:
            in_home &= Q(building_group__isnull=True) | Q(building_group_id=home.building_group_id)
        else:
            in_home &= Q(building_group__isnull=True)
        condition |= in_home & readable
    if not condition:
        return Topic.objects.none()
    return Topic.objects.filter(condition)


def can_read_topic_stream(user: User, ident: str) -> bool:
    """The realtime stream `topic.<id>`: whoever may read the topic (notifications.streams)."""
    return ident.isdigit() and visible_topics_for(user).filter(pk=int(ident)).exists()


def access_topic(user: User, topic_id: int) -> Topic:
    try:
        return visible_topics_for(user).select_related("neighborhood", "building_group", "author").get(pk=topic_id)
    except (Topic.DoesNotExist, ValueError, TypeError):
        raise NotFound("topic_not_found", "议题不存在") from None


def access_topic_as_staff(user: User, topic_id: int) -> Topic:
    topic = access_topic(user, topic_id)
    if not is_topic_staff(user, topic):
        raise Forbidden("staff_only", "仅限本居委工作人员操作")
    return topic


def require_verified_home(user: User, topic: Topic) -> Home:
    """The approved membership that lets this user take part, or 403 for a pending one."""
    home = home_in_scope(user, topic)
    if home is None:
        # Staff who do not live here may see the topic but not take part as residents.
        raise Forbidden("not_a_resident", "仅限本议题范围内的居民参与")
    if home.status != Membership.Status.APPROVED:
        raise Forbidden("not_verified", "居民身份尚未通过审核，暂不能参与议事")
    return home
