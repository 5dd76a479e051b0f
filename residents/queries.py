"""Read models for the residents API: a fixed number of queries whatever the page size."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.errors import NotFound
from core.pagination import Page, paginate_keyset
from residents import access
from residents.models import (
    Beneficiary,
    Membership,
    PartyIdentityRequest,
    Region,
    Role,
    User,
)

NEWEST_FIRST = ("-created_at", "-id")


def me_context(user: User) -> dict:
    memberships = list(
        Membership.objects.filter(user=user, status__in=Membership.ACTIVE_STATUSES)
        .select_related("neighborhood")
        .order_by("-is_current", "-created_at")
    )
    roles = list(
        Role.objects.filter(user=user, revoked_at__isnull=True).select_related("region").order_by("region__code", "kind")
    )
    return {"memberships": memberships, "roles": roles, "is_staff": access.profile(user).is_staff}


def region_list(*, level: str | None, parent_id: int | None, q: str | None, cursor: str | None, limit: int) -> Page:
    regions: QuerySet[Region] = Region.objects.all()
    if parent_id is not None:
        if not Region.objects.filter(pk=parent_id).exists():
            raise NotFound("region_not_found", "区域不存在")
        regions = regions.filter(parent_id=parent_id)
    if level:
        regions = regions.filter(level=level)
    if q:
        regions = regions.filter(name__icontains=q)
    # The 12-digit code is unique and orders regions the way the statistics bureau lists them.
    return paginate_keyset(regions, ordering=("code",), cursor=cursor, limit=limit)


def region_detail(region_id: int) -> Region:
    try:
        return Region.objects.select_related("parent__parent__parent").get(pk=region_id)
    except Region.DoesNotExist:
        raise NotFound("region_not_found", "区域不存在") from None


def neighborhood_or_404(region_id: int) -> Region:
    try:
        return Region.objects.get(pk=region_id, level=Region.Level.NEIGHBORHOOD)
    except Region.DoesNotExist:
        raise NotFound("region_not_found", "居委/村不存在") from None


def my_memberships(user: User) -> list[Membership]:
    # A person has a handful of homes at most: no pagination needed.
    return list(
        Membership.objects.filter(user=user)
        .select_related("user", "neighborhood", "building_group")
        .order_by("-is_current", "-created_at", "-id")[:50]
    )


def staff_membership_queue(
    user: User, *, status: str | None, neighborhood_id: int | None, cursor: str | None, limit: int
) -> Page:
    p = access.require_staff(user)
    memberships = Membership.objects.filter(neighborhood_id__in=p.staff_of)
    if neighborhood_id is not None:
        access.access_neighborhood_as_staff(user, neighborhood_id)
        memberships = memberships.filter(neighborhood_id=neighborhood_id)
    if status:
        memberships = memberships.filter(status=status)
    memberships = memberships.select_related("user", "neighborhood", "building_group")
    # Oldest first: the queue is worked from the front.
    return paginate_keyset(memberships, ordering=("created_at", "id"), cursor=cursor, limit=limit)


def party_identity_requests(
    user: User, *, staff: bool, status: str | None, neighborhood_id: int | None, cursor: str | None, limit: int
) -> Page:
    if staff:
        p = access.require_staff(user)
        requests = PartyIdentityRequest.objects.filter(neighborhood_id__in=p.staff_of)
        if neighborhood_id is not None:
            access.access_neighborhood_as_staff(user, neighborhood_id)
            requests = requests.filter(neighborhood_id=neighborhood_id)
        ordering = ("created_at", "id")
    else:
        requests = PartyIdentityRequest.objects.filter(user=user)
        if neighborhood_id is not None:
            requests = requests.filter(neighborhood_id=neighborhood_id)
        ordering = NEWEST_FIRST
    if status:
        requests = requests.filter(status=status)
    requests = requests.select_related("user", "neighborhood")
    return paginate_keyset(requests, ordering=ordering, cursor=cursor, limit=limit)


def roles_in_region(user: User, region_id: int, *, cursor: str | None, limit: int) -> Page:
    """Active roles held in a region and the regions below it, for the staff who run it."""
    region = access.access_region_as_staff(user, region_id)
    below = Q(region_id=region.pk) | Q(region__parent_id=region.pk) | Q(region__parent__parent_id=region.pk)
    roles = access.visible_roles_for(user).filter(below).select_related("user", "region")
    return paginate_keyset(roles, ordering=("id",), cursor=cursor, limit=limit)


def beneficiaries(user: User, *, staff: bool, neighborhood_id: int | None, cursor: str | None, limit: int) -> Page:
    if staff:
        p = access.require_staff(user)
        rows = Beneficiary.objects.filter(deleted_at__isnull=True, neighborhood_id__in=p.staff_of)
        if neighborhood_id is not None:
            access.access_neighborhood_as_staff(user, neighborhood_id)
            rows = rows.filter(neighborhood_id=neighborhood_id)
    else:
        rows = Beneficiary.objects.filter(deleted_at__isnull=True, owner=user)
    rows = rows.select_related("neighborhood")
    return paginate_keyset(rows, ordering=("-is_default", "-id"), cursor=cursor, limit=limit)
