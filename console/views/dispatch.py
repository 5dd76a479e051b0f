"""派单台: the region's service requests, late first, and the moves staff may make on them.

Every rule comes from the services app: which requests are visible (access), which moves a
user may make (access.allowed_transitions over the model's transition table), the move
itself (services.actions.transitions.do_transition_service_request), queue order and deadlines (queries).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from console.access import back_url, console_view
from console.exports import DISPATCH_COLUMNS, export_format, export_records
from console.listing import list_options
from core.crypto import mask_text
from core.errors import DomainError
from residents.models import Region
from services import queries as service_queries
from services.access import access_service_request, allowed_transitions, full_view_reason, visible_requests_for
from services.actions.privacy import do_log_sensitive_view
from services.actions.transitions import do_transition_service_request
from services.models import ProviderOrganization, ServiceCategory, ServiceRequest, ServiceRequestEvent

Status = ServiceRequest.Status
PAGE_SIZE = 50
# Sortable columns (console/listing.py): key → the field it orders by.
SORTS = {
    "id": "id",
    "service": "item__name",
    "neighborhood": "neighborhood__code",
    "status": "status",
    "due": "due_at",
    "org": "assigned_org__name",
}
# A deadline this close is drawn amber.
SOON = timedelta(hours=1)
TRANSITION_LABELS = {
    Status.ACCEPTED: "受理",
    Status.REJECTED: "驳回",
    Status.ASSIGNED: "派单",
    Status.IN_SERVICE: "开始服务",
    Status.COMPLETED: "完成",
}


def region_requests(request):
    """The scoped queryset every dispatch screen starts from: visible and in my region."""
    return visible_requests_for(request.user).filter(neighborhood_id__in=request.console.neighborhood_ids)


def access_region_request(request, request_id: int) -> ServiceRequest:
    service_request = access_service_request(request.user, request_id)
    if service_request.neighborhood_id not in request.console.neighborhood_ids:
        raise Http404()  # e.g. an officer's own request as a resident: not a dispatch item
    return service_request


def deadline_class(service_request, now) -> str:
    if not service_request.is_open:
        return ""
    due = (
        service_request.accept_due_at
        if service_request.status in ServiceRequest.ACCEPT_PHASE
        else service_request.complete_due_at
    )
    if due < now:
        return "deadline-overdue"
    if due - now < SOON:
        return "deadline-soon"
    return "deadline-ok"


def providers_for(scope) -> list[ProviderOrganization]:
    streets = set(scope.street_ids) | set(
        Region.objects.filter(pk__in=scope.neighborhood_ids).values_list("parent_id", flat=True)
    )
    return list(
        ProviderOrganization.objects.filter(is_active=True)
        .filter(Q(street_id__in=streets) | Q(street__isnull=True))
        .order_by("name")
    )


def _rows(page_items, now) -> list[dict]:
    return [{"r": r, "deadline": deadline_class(r, now), "due": r.due_at, "overdue": r.is_overdue} for r in page_items]


@console_view()
def board(request):
    scope = request.console
    params = request.GET.copy()
    if "status" not in params and "overdue" not in params:
        params.setlist("status", list(ServiceRequest.OPEN_STATUSES))  # the working view: open requests
    filterset = service_queries.ServiceRequestFilter(params, queryset=region_requests(request), request=request)
    queryset = filterset.qs if filterset.is_valid() else region_requests(request).none()
    counts = service_queries.counts_by_status(region_requests(request))
    options = list_options(request, SORTS, service_queries.QUEUE_ORDERING, default_size=PAGE_SIZE)
    listing = service_queries.for_list(queryset).order_by(*options.ordering)
    if fmt := export_format(request):
        return export_records(
            request, key="dispatch", title="派单台工单", columns=DISPATCH_COLUMNS, queryset=listing, fmt=fmt
        )
    page = Paginator(listing, options.per_page).get_page(request.GET.get("page"))
    now = timezone.now()
    query = params.copy()
    query.pop("page", None)
    return render(
        request,
        "console/dispatch_board.html",
        {
            "active": "dispatch",
            "page": page,
            "listing": options,
            "rows": _rows(page.object_list, now),
            "counts": board_counts(counts),
            "statuses": Status.choices,
            "chosen_statuses": params.getlist("status"),
            "categories": ServiceCategory.objects.filter(is_active=True),
            "neighborhoods": Region.objects.filter(pk__in=scope.neighborhood_ids).order_by("code"),
            "params": params,
            "querystring_base": (query.urlencode() + "&") if query else "",
            "providers": providers_for(scope),
            "realtime_streams": realtime_streams(scope),
        },
    )


@console_view()
def board_row(request, request_id: int):
    """One row of the board, for the page to insert when a new request arrives live."""
    service_request = access_region_request(request, request_id)
    row = service_queries.for_list(ServiceRequest.objects.filter(pk=service_request.pk)).get()
    return render(
        request,
        "console/_dispatch_row.html",
        # A status change redraws an existing row (?changed=1): not marked new.
        {"row": _rows([row], timezone.now())[0], "is_new": request.GET.get("changed") != "1"},
    )


def board_counts(counts: dict) -> dict[str, int]:
    """The board's count cards, keyed as the page marks them (data-count-status)."""
    by_status = counts["by_status"]
    return {
        "submitted": by_status.get(Status.SUBMITTED, 0),
        "accepted": by_status.get(Status.ACCEPTED, 0),
        "in_service": by_status.get(Status.ASSIGNED, 0) + by_status.get(Status.IN_SERVICE, 0),
        "overdue": counts["overdue"],
    }


@console_view()
def board_counts_json(request):
    """The board's counts, for the page to redraw when a request changes live."""
    return JsonResponse(board_counts(service_queries.counts_by_status(region_requests(request))))


@console_view()
def detail(request, request_id: int):
    service_request = access_region_request(request, request_id)
    show_full = request.GET.get("full") == "1"
    if show_full and full_view_reason(request.user, service_request) is not None:
        do_log_sensitive_view(actor=request.user, request=service_request, screen=request.path)
        address, health = service_request.address, service_request.health_note
    else:
        show_full = False
        address, health = mask_text(service_request.address), ("已隐藏" if service_request.health_note else "")
    events = (
        ServiceRequestEvent.objects.filter(request=service_request).select_related("actor").order_by("created_at", "id")
    )
    moves = [
        (to, TRANSITION_LABELS.get(to, Status(to).label)) for to in allowed_transitions(request.user, service_request)
    ]
    return render(
        request,
        "console/dispatch_detail.html",
        {
            "active": "dispatch",
            "r": service_request,
            "address": address,
            "health": health,
            "show_full": show_full,
            "events": events,
            "moves": moves,
            "deadline": deadline_class(service_request, timezone.now()),
            "providers": providers_for(request.console),
            "status_labels": dict(Status.choices),
        },
    )


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@require_POST
@console_view()
def transition(request, request_id: int):
    service_request = access_region_request(request, request_id)
    to = request.POST.get("to", "")
    if to not in Status.values:
        messages.error(request, "未知的操作")
        return redirect(back_url(request, reverse("console:dispatch_detail", args=[request_id])))
    do_transition_service_request(
        service_request.pk,
        actor=request.user,
        to=to,
        expected_status=request.POST.get("from_status") or None,
        note=request.POST.get("note", "")[:500],
        reason=request.POST.get("reason", "")[:200],
        assignee_org_id=_int_or_none(request.POST.get("assignee_org")),
        assignee_user_id=_int_or_none(request.POST.get("assignee_user")),
    )
    label = (
        "改派" if to == Status.ASSIGNED and service_request.status == Status.ASSIGNED else TRANSITION_LABELS.get(to, to)
    )
    messages.success(request, f"工单 #{service_request.pk} 已{label}")
    return redirect(back_url(request, reverse("console:dispatch_detail", args=[request_id])))


@require_POST
@console_view()
def bulk_assign(request):
    """Assign several requests to one provider; a request still waiting is accepted first.

    Each request is its own transaction through the action, so one that someone else moved
    meanwhile fails alone and is reported, the rest go through.
    """
    org_id = _int_or_none(request.POST.get("assignee_org"))
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()][:PAGE_SIZE]
    if not ids or org_id is None:
        messages.error(request, "请勾选工单并选择服务机构")
        return redirect(back_url(request, reverse("console:dispatch")))
    done, failed = [], []
    for request_id in ids:
        try:
            service_request = access_region_request(request, request_id)
            if service_request.status == Status.SUBMITTED:
                do_transition_service_request(
                    request_id, actor=request.user, to=Status.ACCEPTED, expected_status=Status.SUBMITTED
                )
            do_transition_service_request(request_id, actor=request.user, to=Status.ASSIGNED, assignee_org_id=org_id)
            done.append(request_id)
        except (DomainError, Http404) as exc:
            failed.append(f"#{request_id}（{getattr(exc, 'message', '不存在')}）")
    if done:
        messages.success(request, f"已派单 {len(done)} 件：" + "、".join(f"#{i}" for i in done))
    if failed:
        messages.error(request, "未能派单：" + "；".join(failed))
    return redirect(back_url(request, reverse("console:dispatch")))


def realtime_streams(scope) -> list[str]:
    """Streams that announce new requests in the region: one per street, else per neighborhood."""
    covered = set(
        Region.objects.filter(pk__in=scope.neighborhood_ids, parent_id__in=scope.street_ids).values_list(
            "id", flat=True
        )
    )
    streams = [f"staff.street.{s}" for s in sorted(scope.street_ids)]
    streams += [f"staff.neighborhood.{n}" for n in sorted(scope.neighborhood_ids - covered)]
    return streams[:50]
