"""诉求办理: the matters board per responsible unit, a matter's detail and the unit's moves.

The board has the dispatch board's qualities (console/views/dispatch.py): filters, overdue
first then the nearest deadline, count cards, a fixed number of queries per page, and scope
enforced here (anything outside it is 404). Every rule is the owning apps': which matters a
user sees (matters.access), which moves they may make (matters.api.allowed_actions over
cases.models.Case.TRANSITIONS), where a case may be transferred (cases.access.reachable_units)
and the moves themselves (cases.actions, the same calls as the API's).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases import actions as case_actions
from cases.access import reachable_units, unit_ids_of
from cases.models import Case, CaseEvent, ResponsibleUnit
from console.access import back_url, console_view
from console.exports import MATTER_COLUMNS, export_format, export_records
from console.listing import list_options
from matters import queries as matter_queries
from matters.access import access_matter, visible_matters_for
from matters.api import allowed_actions
from matters.models import Matter, MatterCategory
from residents.models import Region

Status = Case.Status
PAGE_SIZE = 50
SOON = timedelta(hours=1)  # a deadline this close is drawn amber, as on the dispatch board
# Earliest deadline first, so the overdue lead; answered matters (no deadline) last.
ORDERING = (F("case__due_at").asc(nulls_last=True), "-id")
# Sortable columns (console/listing.py): key → the field it orders by.
SORTS = {
    "id": "id",
    "category": "category__name",
    "place": "place",
    "neighborhood": "neighborhood__code",
    "unit": "case__unit__name",
    "status": "case__status",
    "due": "case__due_at",
}
ACTION_LABELS = {"accept": "受理", "transfer": "转办", "reject": "退回", "resolve": "答复"}


def _units_condition(request) -> Q:
    units = unit_ids_of(request.user)
    return Q(case__unit_id__in=units) | Q(case__supervising_unit_id__in=units)


def board_matters(request) -> QuerySet[Matter]:
    """What the board may show: visible to the user (matters.access) and either in the staff
    neighborhoods (committee staff: theirs; officers: their street's) or at the user's units."""
    in_region = Q(neighborhood_id__in=request.console.neighborhood_ids) | _units_condition(request)
    return visible_matters_for(request.user).filter(in_region)


def board_units(request) -> QuerySet[ResponsibleUnit]:
    """The units whose queue the user may open: their own, and for staff the units of their
    neighborhoods, streets and district."""
    scope = request.console
    regions = scope.neighborhood_ids | scope.street_ids | scope.district_ids
    return ResponsibleUnit.objects.filter(Q(pk__in=unit_ids_of(request.user)) | Q(region_id__in=regions))


def access_board_matter(request, matter_id: int) -> Matter:
    matter = access_matter(request.user, matter_id)  # 404 outside what the user may see at all
    if not board_matters(request).filter(pk=matter.pk).exists():
        raise Http404()  # e.g. an officer's own matter as a resident, or one a unit handled before
    return matter


def deadline_class(case: Case, now) -> str:
    if case.due_at is None:
        return ""
    if case.due_at < now:
        return "deadline-overdue"
    if case.due_at - now < SOON:
        return "deadline-soon"
    return "deadline-ok"


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def board_counts(queryset: QuerySet, now, *, case: str = "case__") -> dict[str, int]:
    """The count cards, in one aggregate query. `case` is the path from the queryset's rows to
    their case: matters reach it through `case__`, 案件总台 counts cases themselves (`""`)."""
    return queryset.aggregate(
        submitted=Count("pk", filter=Q(**{f"{case}status__in": Case.ACCEPT_PHASE})),
        accepted=Count("pk", filter=Q(**{f"{case}status": Status.ACCEPTED})),
        resolved=Count("pk", filter=Q(**{f"{case}status": Status.RESOLVED})),
        overdue=Count("pk", filter=Q(**{f"{case}due_at__lt": now})),
    )


@console_view(units=True)
def board(request):
    params = request.GET
    units = list(board_units(request).select_related("region").order_by("region__code", "name"))
    base = board_matters(request)
    unit_id = _int(params.get("unit"))
    if params.get("unit"):
        if unit_id not in {u.pk for u in units}:
            raise Http404()
        base = base.filter(Q(case__unit_id=unit_id) | Q(case__supervising_unit_id=unit_id))
    now = timezone.now()
    counts = board_counts(base, now)
    chosen = [s for s in params.getlist("status") if s in Status.values]
    if not chosen and params.get("overdue") != "true":
        chosen = sorted(Case.OPEN)  # the working view: open matters
    listing = base.filter(case__status__in=chosen) if chosen else base
    if params.get("overdue") == "true":
        listing = listing.filter(case__due_at__lt=now)
    if (category := _int(params.get("category"))) is not None:
        listing = listing.filter(category_id=category)
    if (neighborhood := _int(params.get("neighborhood"))) is not None:
        listing = listing.filter(neighborhood_id=neighborhood)
    listing = listing.select_related("case__unit", "case__supervising_unit", "item", "category", "neighborhood")
    options = list_options(request, SORTS, ORDERING, default_size=PAGE_SIZE)
    listing = listing.order_by(*options.ordering)
    if fmt := export_format(request):
        return export_records(
            request, key="matters", title="诉求办理", columns=MATTER_COLUMNS, queryset=listing, fmt=fmt
        )
    page = Paginator(listing, options.per_page).get_page(params.get("page"))
    rows = [
        {"m": m, "deadline": deadline_class(m.case, now), "overdue": m.case.due_at is not None and m.case.due_at < now}
        for m in page.object_list
    ]
    query = params.copy()
    query.pop("page", None)
    return render(
        request,
        "console/matters_board.html",
        {
            "active": "matters",
            "page": page,
            "listing": options,
            "rows": rows,
            "counts": counts,
            "units": units,
            "unit_id": unit_id,
            "statuses": Status.choices,
            "chosen_statuses": chosen,
            "categories": MatterCategory.objects.filter(is_active=True),
            "neighborhoods": Region.objects.filter(pk__in=request.console.neighborhood_ids).order_by("code"),
            "params": params,
            "querystring_base": (query.urlencode() + "&") if query else "",
        },
    )


@console_view(units=True)
def detail(request, matter_id: int):
    matter = access_board_matter(request, matter_id)
    case = matter.case
    actions = allowed_actions(request.user, matter)
    targets = []
    if "transfer" in actions:
        targets = list(
            reachable_units(case).exclude(pk=case.unit_id).select_related("region").order_by("region__code", "name")
        )
    return render(
        request,
        "console/matters_detail.html",
        {
            "active": "matters",
            "m": matter,
            "case": case,
            "events": matter_queries.timeline(matter),
            "actions": [a for a in actions if a in ACTION_LABELS],
            "targets": targets,
            "may_override": matter.neighborhood_id in request.console.neighborhood_ids,
            "deadline": deadline_class(case, timezone.now()),
            "status_labels": dict(Status.choices),
            "event_kinds": CaseEvent.Kind,
        },
    )


@require_POST
@console_view(units=True)
def act(request, matter_id: int, action: str):
    """One of the unit's moves, through the same cases.actions call as the API's view."""
    matter = access_board_matter(request, matter_id)
    post = request.POST
    if action == "accept":
        case_actions.do_accept_case(matter.case_id, actor=request.user, expected_status=post.get("from_status") or None)
    elif action == "reject":
        case_actions.do_reject_case(matter.case_id, actor=request.user, reason=post.get("reason", "")[:500])
    elif action == "transfer":
        case_actions.do_transfer_case(
            matter.case_id,
            actor=request.user,
            to_unit_id=_int(post.get("unit")) or 0,
            reason=post.get("reason", "")[:500],
            override=post.get("override") == "1",
        )
    elif action == "resolve":
        case_actions.do_resolve_case(matter.case_id, actor=request.user, answer=post.get("answer", "")[:2000])
    else:
        raise Http404()
    messages.success(request, f"诉求 #{matter.pk} 已{ACTION_LABELS[action]}")
    if action == "transfer":  # a unit member no longer holds it: back to the board
        return redirect("console:matters")
    return redirect(back_url(request, reverse("console:matter_detail", args=[matter_id])))
