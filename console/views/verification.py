"""Verification queues: memberships (入户) and 亮身份, in the staff member's neighborhoods."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.access import back_url, console_view
from console.exports import MEMBERSHIP_COLUMNS, PARTY_IDENTITY_COLUMNS, export_format, export_records
from console.listing import list_options
from core.crypto import mask_text
from residents.access import access_membership, access_party_identity_request, visible_memberships_for
from residents.actions import do_decide_membership, do_decide_party_identity
from residents.models import Membership, PartyIdentityRequest, Region

PAGE_SIZE = 30
# Sortable columns (console/listing.py); oldest first by default.
SORTS = {"neighborhood": "neighborhood__code", "created": "created_at"}
DEFAULT_ORDER = ("created_at", "id")


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
    )
    if chosen:
        qs = qs.filter(neighborhood_id=chosen)
    options = list_options(request, SORTS, DEFAULT_ORDER, default_size=PAGE_SIZE)
    qs = qs.order_by(*options.ordering)
    if fmt := export_format(request):
        return export_records(
            request, key="memberships", title="入户审核", columns=MEMBERSHIP_COLUMNS, queryset=qs, fmt=fmt
        )
    page = Paginator(qs, options.per_page).get_page(request.GET.get("page"))
    rows = [{"m": m, "room_masked": mask_text(m.room, keep=1)} for m in page.object_list]
    return render(
        request,
        "console/memberships.html",
        {
            "active": "memberships",
            "page": page,
            "listing": options,
            "querystring_base": (options.query.urlencode() + "&") if options.query else "",
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
    qs = PartyIdentityRequest.objects.filter(
        neighborhood_id__in=scope.neighborhood_ids,
        status=PartyIdentityRequest.Status.PENDING,
    ).select_related("user", "neighborhood")
    if chosen:
        qs = qs.filter(neighborhood_id=chosen)
    options = list_options(request, SORTS, DEFAULT_ORDER, default_size=PAGE_SIZE)
    qs = qs.order_by(*options.ordering)
    if fmt := export_format(request):
        return export_records(
            request, key="party_identity", title="亮身份审核", columns=PARTY_IDENTITY_COLUMNS, queryset=qs, fmt=fmt
        )
    page = Paginator(qs, options.per_page).get_page(request.GET.get("page"))
    return render(
        request,
        "console/party_identity.html",
        {
            "active": "party_identity",
            "page": page,
            "listing": options,
            "querystring_base": (options.query.urlencode() + "&") if options.query else "",
            "neighborhoods": neighborhoods,
            "chosen": chosen,
        },
    )


def _decision(request) -> tuple[bool, str] | None:
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "请选择通过或驳回")
        return None
    return decision == "approve", request.POST.get("reason", "")[:200]


@require_POST
@console_view()
def membership_decide(request, membership_id: int):
    membership = access_membership(request.user, membership_id)
    if membership.neighborhood_id not in request.console.neighborhood_ids:
        raise Http404()  # their own home, not a queue item
    decided = _decision(request)
    if decided is not None:
        approve, reason = decided
        do_decide_membership(membership_id=membership.pk, actor=request.user, approve=approve, reason=reason)
        verb = "已通过" if approve else "已驳回"
        messages.success(request, f"{membership.user.display_name} 加入{membership.neighborhood.name}的申请{verb}")
    return redirect(back_url(request, reverse("console:memberships")))


@require_POST
@console_view()
def party_identity_decide(request, request_id: int):

    party_request = access_party_identity_request(request.user, request_id)
    if party_request.neighborhood_id not in request.console.neighborhood_ids:
        raise Http404()
    decided = _decision(request)
    if decided is not None:
        approve, reason = decided
        do_decide_party_identity(request_id=party_request.pk, actor=request.user, approve=approve, reason=reason)
        messages.success(request, "已认证党员身份" if approve else "已驳回亮身份申请")
    return redirect(back_url(request, reverse("console:party_identity")))
