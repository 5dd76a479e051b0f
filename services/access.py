"""Who may see which service request, and who may see its address and health notes in full.

A request is visible to its requester, the family that registered its beneficiary, the
provider (organization member or volunteer) it is assigned to, and staff of its
neighborhood (committee staff, the street's officers, district admins). Anyone else gets
404 — a neighbor in the same building and a provider of another organization included.
"""

from __future__ import annotations

from enum import Enum

from django.db.models import Q, QuerySet

from core.errors import NotFound
from residents.access import is_staff_for, profile
from residents.models import Role, User
from services.models import ProviderOrganization, ServicePlan, ServiceRequest


class FullView(Enum):
    """Why a viewer may see the address and health notes in full."""

    OWN = "own"  # the requester or the elder's registered family: not logged
    STAFF = "staff"  # logged in SensitiveAccessLog
    PROVIDER = "provider"  # only while the request is open; logged


def provider_org_ids(user: User) -> frozenset[int]:
    cached = getattr(user, "_provider_org_ids", None)
    if cached is None:
        cached = frozenset(
            ProviderOrganization.objects.filter(members=user, is_active=True).values_list("id", flat=True)
        )
        user._provider_org_ids = cached
    return cached


# Who can receive the staff and provider kinds of notification (registered in services.apps).


def receives_new_requests(user: User) -> bool:
    return profile(user).has_role(Role.Kind.COMMITTEE_STAFF)


def receives_overdue_requests(user: User) -> bool:
    p = profile(user)
    return p.has_role(Role.Kind.COMMITTEE_STAFF) or p.has_role(Role.Kind.STREET_OFFICER)


def receives_assignments(user: User) -> bool:
    return profile(user).has_role(Role.Kind.SERVICE_PROVIDER) or bool(provider_org_ids(user))


def is_provider_of(user: User, request: ServiceRequest) -> bool:
    return (request.assigned_user_id is not None and request.assigned_user_id == user.pk) or (
        request.assigned_org_id is not None and request.assigned_org_id in provider_org_ids(user)
    )


def is_family_of(user: User, request: ServiceRequest) -> bool:
    return request.requester_id == user.pk or (
        request.beneficiary_id is not None and request.beneficiary.owner_id == user.pk
    )


def visible_requests_for(user: User, base: QuerySet[ServiceRequest] | None = None) -> QuerySet[ServiceRequest]:
    """The requests `user` may see, from `base` (all requests; services/list_rows.py passes its rows)."""
    p = profile(user)
    orgs = provider_org_ids(user)
    condition = Q(requester=user) | Q(beneficiary__owner=user) | Q(assigned_user=user)
    if orgs:
        condition |= Q(assigned_org_id__in=orgs)
    if p.staff_of:
        condition |= Q(neighborhood_id__in=p.staff_of)
    return (ServiceRequest.objects.all() if base is None else base).filter(condition)


def access_service_request(user: User, request_id: int) -> ServiceRequest:
    try:
        return (
            visible_requests_for(user)
            .select_related("item__category", "beneficiary", "neighborhood", "street", "assigned_org", "assigned_user", "requester")
            .get(pk=request_id)
        )
    except (ServiceRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound("service_request_not_found", "服务工单不存在") from None


def full_view_reason(user: User, request: ServiceRequest) -> FullView | None:
    """None means: show masked values only."""
    if is_family_of(user, request):
        return FullView.OWN
    if request.neighborhood_id in profile(user).staff_of:
        return FullView.STAFF
    if request.is_open and is_provider_of(user, request):
        return FullView.PROVIDER
    return None


def sees_unchecked_text(user: User | None, request: ServiceRequest) -> bool:
    """Text not yet passed by the content check (a held note or rating comment) is shown to its
    author's side and to the region's staff, who review it; a provider sees it only once it passed."""
    if user is None:
        return False
    owner_id = request.beneficiary.owner_id if request.beneficiary_id is not None else None
    return sees_unchecked_row(
        user, requester_id=request.requester_id, beneficiary_owner_id=owner_id, neighborhood_id=request.neighborhood_id
    )


def sees_unchecked_row(
    user: User, *, requester_id: int, beneficiary_owner_id: int | None, neighborhood_id: int,
    staff_of: frozenset[int] | None = None,
) -> bool:
    """sees_unchecked_text for a request read as columns (services/list_rows.py); `staff_of`
    is the viewer's profile(user).staff_of when the caller already holds it."""
    if requester_id == user.pk or (beneficiary_owner_id is not None and beneficiary_owner_id == user.pk):
        return True
    return neighborhood_id in (profile(user).staff_of if staff_of is None else staff_of)


def visible_plans_for(user: User) -> QuerySet[ServicePlan]:
    p = profile(user)
    condition = Q(requester=user) | Q(beneficiary__owner=user)
    if p.staff_of:
        condition |= Q(neighborhood_id__in=p.staff_of)
    return ServicePlan.objects.filter(condition)


def access_service_plan(user: User, plan_id: int) -> ServicePlan:
    try:
        return visible_plans_for(user).select_related("item", "beneficiary").get(pk=plan_id)
    except (ServicePlan.DoesNotExist, ValueError, TypeError):
        raise NotFound("service_plan_not_found", "定期服务不存在") from None


def may_act_as(user: User, request: ServiceRequest, role: str) -> bool:
    """Does the user hold the role the transition table asks for, on this request?"""
    if role == ServiceRequest.Actor.STAFF:
        return is_staff_for(user, request.neighborhood_id)
    if role == ServiceRequest.Actor.PROVIDER:
        return is_provider_of(user, request)
    if role == ServiceRequest.Actor.REQUESTER:
        return is_family_of(user, request)
    return False


def allowed_transitions(user: User, request: ServiceRequest) -> list[str]:
    moves = [*ServiceRequest.TRANSITIONS.items(), *ServiceRequest.ON_BEHALF.items()]
    allowed: list[str] = []
    for (from_status, to), role in moves:
        if from_status == request.status and to not in allowed and may_act_as(user, request, role):
            allowed.append(to)
    return allowed
