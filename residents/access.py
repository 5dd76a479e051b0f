"""Who may see and do what, by region (docs/residents.md, Roles). Every endpoint starts here.

`access_*` return the object or raise NotFound — the same error for "does not exist"
and "not yours". `visible_*_for` return the scoped queryset every list starts from.
Role lookups are memoised on the user object for the length of one request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from django.db import connection
from django.db.models import Q, QuerySet

from core.errors import Forbidden, NotFound
from residents.models import (
    Beneficiary,
    Membership,
    PartyIdentityRequest,
    Region,
    Role,
    User,
)


@dataclass
class AccessProfile:
    member_of: frozenset[int] = frozenset()  # approved neighborhoods
    pending_in: frozenset[int] = frozenset()
    staff_of: frozenset[int] = frozenset()  # neighborhoods under the user's staff roles
    staff_streets: frozenset[int] = frozenset()  # streets where the user is an officer (or all, for district admins)
    is_district_admin: bool = False
    roles: dict[str, frozenset[int]] = field(default_factory=dict)  # kind -> region ids

    def has_role(self, kind: str, region_id: int | None = None) -> bool:
        regions = self.roles.get(kind, frozenset())
        return bool(regions) if region_id is None else region_id in regions

    @property
    def is_staff(self) -> bool:
        return bool(self.staff_of) or self.is_district_admin


def profile(user: User) -> AccessProfile:
    if not getattr(user, "is_authenticated", False):
        return AccessProfile()
    cached = getattr(user, "_access_profile", None)
    if cached is not None:
        return cached
    # Memberships and roles in one round trip (every authenticated request pays for this, so
    # the SQL is written once rather than compiled from querysets on each request).
    memberships: list[tuple[int, str]] = []
    roles: dict[str, set[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_profile_sql(), [user.pk, *Membership.ACTIVE_STATUSES, user.pk])
        for source, region_id, value in cursor.fetchall():
            if source == "m":
                memberships.append((region_id, value))
            else:
                roles.setdefault(value, set()).add(region_id)
    user._access_profile = _assemble(memberships, roles, _children_of)
    return user._access_profile


def load_profiles(users: list[User]) -> None:
    """`profile()` for many users at once, set on each user object as `profile()` sets it: the
    memberships and roles of all of them in two queries, and the district admins' streets and the
    officers' neighborhoods in at most two more, whatever the number of users (the WebSocket
    re-check, notifications/recheck.py). The ids go as one array (`__any`, core/lookups.py)."""
    users = [u for u in users if getattr(u, "is_authenticated", False)]
    ids = {u.pk for u in users}
    if not ids:
        return
    memberships: dict[int, list[tuple[int, str]]] = {}
    ids = list(ids)
    for user_id, neighborhood_id, status in Membership.objects.filter(
        user_id__any=ids, status__in=Membership.ACTIVE_STATUSES
    ).values_list("user_id", "neighborhood_id", "status"):
        memberships.setdefault(user_id, []).append((neighborhood_id, status))
    roles: dict[int, dict[str, set[int]]] = {}
    for user_id, region_id, kind in Role.objects.filter(user_id__any=ids, revoked_at__isnull=True).values_list(
        "user_id", "region_id", "kind"
    ):
        roles.setdefault(user_id, {}).setdefault(kind, set()).add(region_id)
    # The regions under every district and street any of them holds, read once for all.
    districts = {d for r in roles.values() for d in r.get(Role.Kind.DISTRICT_ADMIN, ())}
    streets_under = _children_map(Region.Level.STREET, districts)
    streets = {s for r in roles.values() for s in r.get(Role.Kind.STREET_OFFICER, ())}
    under = {
        Region.Level.STREET: streets_under,
        Region.Level.NEIGHBORHOOD: _children_map(Region.Level.NEIGHBORHOOD, streets.union(*streets_under.values())),
    }

    def children_of(level: str, parents: set[int]) -> set[int]:
        return set().union(*(under[level].get(parent, ()) for parent in parents))

    for user in users:
        user._access_profile = _assemble(memberships.get(user.pk, []), roles.get(user.pk, {}), children_of)


def _children_of(level: str, parents: set[int]) -> set[int]:
    return set(Region.objects.filter(level=level, parent_id__in=parents).values_list("id", flat=True))


def _children_map(level: str, parents: set[int]) -> dict[int, set[int]]:
    """{parent: its regions of `level`}, in one query (none for no parents)."""
    children: dict[int, set[int]] = {}
    if parents:
        for child, parent in Region.objects.filter(level=level, parent_id__any=list(parents)).values_list("id", "parent_id"):
            children.setdefault(parent, set()).add(child)
    return children


def _assemble(memberships: list[tuple[int, str]], roles: dict[str, set[int]], children_of) -> AccessProfile:
    """The profile from a user's active memberships (neighborhood, status) and unrevoked roles
    (kind → regions); `children_of(level, parents)` reads the regions under a district or street."""
    staff_of: set[int] = set(roles.get(Role.Kind.COMMITTEE_STAFF, set()))
    streets: set[int] = set(roles.get(Role.Kind.STREET_OFFICER, set()))
    districts = roles.get(Role.Kind.DISTRICT_ADMIN, set())
    if districts:
        streets |= children_of(Region.Level.STREET, districts)
    if streets:
        staff_of |= children_of(Region.Level.NEIGHBORHOOD, streets)
    return AccessProfile(
        member_of=frozenset(n for n, s in memberships if s == Membership.Status.APPROVED),
        pending_in=frozenset(n for n, s in memberships if s == Membership.Status.PENDING),
        staff_of=frozenset(staff_of),
        staff_streets=frozenset(streets),
        is_district_admin=bool(districts),
        roles={k: frozenset(v) for k, v in roles.items()},
    )


@cache
def _profile_sql() -> str:
    statuses = ", ".join(["%s"] * len(Membership.ACTIVE_STATUSES))
    return (
        f"SELECT 'm', neighborhood_id, status FROM {Membership._meta.db_table}"
        f" WHERE user_id = %s AND status IN ({statuses})"
        f" UNION ALL SELECT 'r', region_id, kind FROM {Role._meta.db_table} WHERE user_id = %s AND revoked_at IS NULL"
    )


def forget_profile(user: User) -> None:
    """Call after changing a user's memberships or roles within the same request."""
    if hasattr(user, "_access_profile"):
        del user._access_profile


def is_member(user: User, neighborhood_id: int) -> bool:
    return neighborhood_id in profile(user).member_of


def is_staff_for(user: User, neighborhood_id: int) -> bool:
    return neighborhood_id in profile(user).staff_of


def can_read_neighborhood(user: User, neighborhood_id: int) -> bool:
    p = profile(user)
    return neighborhood_id in p.member_of or neighborhood_id in p.staff_of


def can_moderate(user: User, neighborhood_id: int) -> bool:
    p = profile(user)
    return neighborhood_id in p.staff_of or p.has_role(Role.Kind.MODERATOR, neighborhood_id)


def access_neighborhood(user: User, neighborhood_id: int) -> Region:
    """The neighborhood if the user is an approved member or staff of it; else NotFound."""
    if not can_read_neighborhood(user, neighborhood_id):
        raise NotFound()
    try:
        # With its street and district: the feed's reach needs the chain, and it costs no extra query here.
        return Region.objects.select_related("parent__parent").get(pk=neighborhood_id, level=Region.Level.NEIGHBORHOOD)
    except Region.DoesNotExist:
        raise NotFound() from None


def access_neighborhood_as_staff(user: User, neighborhood_id: int) -> Region:
    if not is_staff_for(user, neighborhood_id):
        raise NotFound()
    try:
        return Region.objects.get(pk=neighborhood_id, level=Region.Level.NEIGHBORHOOD)
    except Region.DoesNotExist:
        raise NotFound() from None


def require_staff(user: User) -> AccessProfile:
    p = profile(user)
    if not p.is_staff:
        raise Forbidden("staff_only", "仅限居委或街道工作人员")
    return p


def current_neighborhood_id(user: User) -> int | None:
    membership = (
        Membership.objects.filter(user=user, status=Membership.Status.APPROVED)
        .order_by("-is_current", "-created_at")
        .values_list("neighborhood_id", flat=True)
        .first()
    )
    return membership


def visible_memberships_for(user: User) -> QuerySet[Membership]:
    """Own memberships, plus those in neighborhoods the user is staff of."""
    p = profile(user)
    return Membership.objects.filter(Q(user=user) | Q(neighborhood_id__in=p.staff_of))


def access_membership(user: User, membership_id: int) -> Membership:
    try:
        return visible_memberships_for(user).select_related("user", "neighborhood").get(pk=membership_id)
    except Membership.DoesNotExist:
        raise NotFound() from None


def visible_beneficiaries_for(user: User) -> QuerySet[Beneficiary]:
    """A resident sees the elders they registered; staff see those of their region."""
    p = profile(user)
    return Beneficiary.objects.filter(deleted_at__isnull=True).filter(
        Q(owner=user) | Q(neighborhood_id__in=p.staff_of)
    )


def access_beneficiary(user: User, beneficiary_id: int) -> Beneficiary:
    try:
        return visible_beneficiaries_for(user).get(pk=beneficiary_id)
    except Beneficiary.DoesNotExist:
        raise NotFound() from None


def neighborhood_ids_of_street(street_id: int) -> QuerySet:
    return Region.objects.filter(level=Region.Level.NEIGHBORHOOD, parent_id=street_id).values_list("id", flat=True)


def grantable_role_kinds(user: User, region: Region) -> frozenset[str]:
    """The role kinds `user` may grant or revoke in `region` (roles table in docs/residents.md).

    Committee staff: moderator and building leader in their neighborhood. Street officers: also
    committee staff in the neighborhoods of their street. District admins: anything in their district.
    """
    p = profile(user)
    districts = p.roles.get(Role.Kind.DISTRICT_ADMIN, frozenset())
    neighborhood_kinds = {Role.Kind.MODERATOR, Role.Kind.BUILDING_LEADER}
    if region.level == Region.Level.NEIGHBORHOOD:
        street_id = region.parent_id
        if street_id in p.staff_streets:
            street_district = Region.objects.filter(pk=street_id).values_list("parent_id", flat=True).first()
            if street_district in districts:
                return frozenset(k for k, level in Role.LEVELS.items() if level == Region.Level.NEIGHBORHOOD)
            return frozenset(neighborhood_kinds | {Role.Kind.COMMITTEE_STAFF})
        if p.has_role(Role.Kind.COMMITTEE_STAFF, region.pk):
            return frozenset(neighborhood_kinds)
        return frozenset()
    if region.level == Region.Level.STREET and region.parent_id in districts:
        return frozenset({Role.Kind.STREET_OFFICER, Role.Kind.SERVICE_PROVIDER})
    if region.level == Region.Level.DISTRICT and region.pk in districts:
        return frozenset({Role.Kind.DISTRICT_ADMIN})
    return frozenset()


def administered_region_ids(user: User) -> frozenset[int]:
    """Every region (neighborhoods, streets, districts) the user is staff of."""
    p = profile(user)
    return p.staff_of | p.staff_streets | p.roles.get(Role.Kind.DISTRICT_ADMIN, frozenset())


def access_region_as_staff(user: User, region_id: int) -> Region:
    if region_id not in administered_region_ids(user):
        raise NotFound()
    try:
        return Region.objects.get(pk=region_id)
    except Region.DoesNotExist:
        raise NotFound() from None


def visible_roles_for(user: User) -> QuerySet[Role]:
    """Active roles in the regions the user administers (a resident sees their own via /me)."""
    return Role.objects.filter(revoked_at__isnull=True, region_id__in=administered_region_ids(user))


def access_role(user: User, role_id: int) -> Role:
    try:
        return visible_roles_for(user).select_related("region", "user").get(pk=role_id)
    except Role.DoesNotExist:
        raise NotFound() from None


def visible_party_identity_requests_for(user: User) -> QuerySet[PartyIdentityRequest]:
    p = profile(user)
    return PartyIdentityRequest.objects.filter(Q(user=user) | Q(neighborhood_id__in=p.staff_of))


def access_party_identity_request(user: User, request_id: int) -> PartyIdentityRequest:
    try:
        return visible_party_identity_requests_for(user).select_related("neighborhood").get(pk=request_id)
    except PartyIdentityRequest.DoesNotExist:
        raise NotFound() from None
