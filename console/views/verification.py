"""Verification queues: memberships (入户) and 亮身份, in the staff member's neighborhoods."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from console.access import console_view
from core.crypto import mask_text
from residents.access import visible_memberships_for
from residents.models import Membership, PartyIdentityRequest, Region

PAGE_SIZE = 30


def _neighborhood_filter(request, scope) -> tuple[list[Region], int | None]:
    neighborhoods = list(Region.objects.filter(pk__in=scope.neighborhood_ids).order_by("code"))
    raw = request.GET.get("neighborhood", "")
    chosen = int(raw) if raw.isdigit() and int(raw) in scope.neighborhood_ids else None
    return neighborhoods, chosen


@console_view()
def memberships(request):
    scope = request.console
    neighborhoods, chosen = _neighborhood_filter(request, scope)
    status = request.GET.get("status") or Membership.Status.PENDING
    if status not in Membership.Status.values:
        status = Membership.Status.PENDING
    # Staff see their neighborhoods' applications, not their own homes.
    qs = (
        visible_memberships_for(request.user)
        .filter(neighborhood_id__in=scope.neighborhood_ids, status=status)
        .select_related("user", "neighborhood", "building_group")
        .order_by("created_at", "id")
    )
    if chosen:
        qs = qs.filter(neighborhood_id=chosen)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"m": m, "room_masked": mask_text(m.room, keep=1)} for m in page.object_list]
    return render(
        request,
        "console/memberships.html",
        {
            "active": "memberships",
            "page": page,
            "rows": rows,
            "neighborhoods": neighborhoods,
            "chosen": chosen,
            "status": status,
            "statuses": Membership.Status.choices,
        },
    )


@console_view()
def party_identity(request):
    scope = request.console
    neighborhoods, chosen = _neighborhood_filter(request, scope)
    qs = (
        PartyIdentityRequest.objects.filter(
            neighborhood_id__in=scope.neighborhood_ids,
            status=PartyIdentityRequest.Status.PENDING,
        )
        .select_related("user", "neighborhood")
        .order_by("created_at", "id")
    )
    if chosen:
        qs = qs.filter(neighborhood_id=chosen)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/party_identity.html",
        {
            "active": "party_identity",
            "page": page,
            "neighborhoods": neighborhoods,
            "chosen": chosen,
        },
    )
