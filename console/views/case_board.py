"""案件总台: one dispatch board over the case engine — matters (一键表达) and elder-service
requests side by side, for a region's staff and for the units that fix things.

Every row is a `cases.Case`; the kind's own page opens it (a matter's 诉求办理 detail, a
request's 派单台 detail), and the moves stay there. What the board adds is one list: filters
(kind, status, overdue, neighborhood, unit), sortable columns and page sizes
(console/listing.py), deadline colours, count cards, and live rows (static/console/live.js over
the `case.*` frames of cases/realtime.py and the services app's `service_request.*` frames).

Scope, decided here once (anything outside it is 404):
- staff see the cases of their staff neighborhoods (committee staff: theirs; officers: their
  street's; district admins: the district's), of every kind;
- a responsible unit's members see the cases at their units — responsible, supervising or
  asked to join (会办) — of the kinds a unit member may open (matters; a service request is
  the committee staff's, as on 派单台: services.access shows it to staff only).
Each kind is one row of KINDS: its label, who may see it, and how a page of its rows gets its
title and link (one query per kind per page, whatever the page size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from cases.access import unit_ids_of
from cases.models import Case, CaseJoint, ResponsibleUnit
from console.access import ConsoleScope, console_view
from console.listing import list_options
from console.views.dispatch import realtime_streams as staff_streams
from console.views.matters import board_counts, deadline_class
from matters.models import Matter
from residents.models import Region
from services.models import ServiceRequest

Status = Case.Status
PAGE_SIZE = 50
# Earliest running deadline first, so the overdue lead; answered and finished cases (no deadline) last.
ORDERING = (F("due_at").asc(nulls_last=True), "-id")
SORTS = {
    "id": "id",
    "kind": "kind",
    "neighborhood": "neighborhood__code",
    "unit": "unit__name",
    "status": "status",
    "due": "due_at",
    "created": "created_at",
}


def _matter_rows(case_ids: list[int]) -> dict[int, dict]:
    rows = Matter.objects.filter(case_id__in=case_ids).values("case_id", "id", "category__name", "item__name", "place")
    return {
        r["case_id"]: {
            "ref": r["id"], "title": f"{r['category__name']} / {r['item__name']}", "place": r["place"],
            "url": reverse("console:matter_detail", args=[r["id"]]),
        }
        for r in rows
    }


def _request_rows(case_ids: list[int]) -> dict[int, dict]:
    # values(): no encrypted field (address, health note) is read, let alone decrypted.
    rows = ServiceRequest.objects.filter(case_id__in=case_ids).values("case_id", "id", "item__category__name", "item__name")
    return {
        r["case_id"]: {
            "ref": r["id"], "title": f"{r['item__category__name']} / {r['item__name']}", "place": "",
            "url": reverse("console:dispatch_detail", args=[r["id"]]),
        }
        for r in rows
    }


@dataclass(frozen=True)
class BoardKind:
    label: str  # the 类型 column and the kind filter
    staff_only: bool  # unit members who are not staff do not see it (the kind's own rule)
    rows: Callable[[list[int]], dict[int, dict]]  # case ids → {case_id: ref, title, place, url}


# Sensor alerts keep their own board (设备告警, console/views/sensors.py: closing with an outcome).
KINDS: dict[str, BoardKind] = {
    "matter": BoardKind("诉求", staff_only=False, rows=_matter_rows),
    "service_request": BoardKind("为老服务", staff_only=True, rows=_request_rows),
}


def board_cases(request) -> QuerySet[Case]:
    """What the board may show (see the module docstring)."""
    return cases_in_scope(request.console)


def cases_in_scope(scope: ConsoleScope) -> QuerySet[Case]:
    """The cases `scope`'s user may list: the board's rule, which GET /api/v1/cases shares
    (console/case_list.py)."""
    units = unit_ids_of(scope.user)
    at_units = Q(pk__in=[])
    if units:
        joined = CaseJoint.objects.filter(case_id=OuterRef("pk"), unit_id__in=units)
        unit_kinds = [k for k, kind in KINDS.items() if not kind.staff_only]
        at_units = Q(kind__in=unit_kinds) & (Q(unit_id__in=units) | Q(supervising_unit_id__in=units) | Exists(joined))
    in_region = Q(kind__in=list(KINDS), neighborhood_id__in=scope.neighborhood_ids)
    return Case.objects.filter(in_region | at_units)


def board_units(request) -> QuerySet[ResponsibleUnit]:
    return units_in_scope(request.console)


def units_in_scope(scope: ConsoleScope) -> QuerySet[ResponsibleUnit]:
    """The units the unit filter offers: the user's own, and for staff those of their regions."""
    regions = scope.neighborhood_ids | scope.street_ids | scope.district_ids
    return ResponsibleUnit.objects.filter(Q(pk__in=unit_ids_of(scope.user)) | Q(region_id__in=regions))


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@dataclass(frozen=True)
class Filters:
    kind: str | None
    unit_id: int | None
    neighborhood_id: int | None
    statuses: list[str]
    overdue: bool

    @classmethod
    def chosen(cls, *, kind: str | None, unit_id: int | None, neighborhood_id: int | None, statuses: list[str],
               overdue: bool) -> Filters:
        """The filters as chosen; no status and no overdue is the working view: the open cases."""
        if not statuses and not overdue:
            statuses = sorted(Case.OPEN)
        return cls(kind=kind, unit_id=unit_id, neighborhood_id=neighborhood_id, statuses=statuses, overdue=overdue)


def read_filters(params: QueryDict, unit_ids: set[int]) -> Filters:
    """The board's filters from the query string; a unit outside the offer is 404."""
    unit_id = _int(params.get("unit"))
    if params.get("unit") and unit_id not in unit_ids:
        raise Http404()
    kind = params.get("kind")
    return Filters.chosen(
        kind=kind if kind in KINDS else None, unit_id=unit_id, neighborhood_id=_int(params.get("neighborhood")),
        statuses=[s for s in params.getlist("status") if s in Status.values], overdue=params.get("overdue") == "true",
    )


def narrowed(base: QuerySet[Case], filters: Filters) -> QuerySet[Case]:
    """Kind, unit and neighborhood: what the count cards follow too."""
    if filters.kind:
        base = base.filter(kind=filters.kind)
    if filters.unit_id is not None:
        base = base.filter(Q(unit_id=filters.unit_id) | Q(supervising_unit_id=filters.unit_id))
    if filters.neighborhood_id is not None:
        base = base.filter(neighborhood_id=filters.neighborhood_id)
    return base


def listed(base: QuerySet[Case], filters: Filters, now) -> QuerySet[Case]:
    """The rows: the narrowed cases in the chosen statuses, overdue only if asked."""
    rows = narrowed(base, filters)
    if filters.statuses:
        rows = rows.filter(status__in=filters.statuses)
    if filters.overdue:
        rows = rows.filter(due_at__lt=now)
    return rows


def board_rows(cases: list[Case], now) -> list[dict]:
    """A page of cases with their kind's title and link: one query per kind on the page."""
    by_kind: dict[str, list[int]] = {}
    for case in cases:
        by_kind.setdefault(case.kind, []).append(case.pk)
    refs: dict[int, dict] = {}
    for kind, ids in by_kind.items():
        refs.update(KINDS[kind].rows(ids))
    return [
        {
            "case": case, "kind_label": KINDS[case.kind].label, "ref": refs.get(case.pk, {}),
            "deadline": deadline_class(case, now), "overdue": case.due_at is not None and case.due_at < now,
        }
        for case in cases
    ]


def _with_relations(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("unit", "supervising_unit", "neighborhood")


def _card_query(filters: Filters) -> str:
    """The count cards' links keep the kind, unit and neighborhood chosen (what the cards count)."""
    kept = QueryDict(mutable=True)
    for key, value in (("kind", filters.kind), ("unit", filters.unit_id), ("neighborhood", filters.neighborhood_id)):
        if value is not None:
            kept[key] = str(value)
    return (kept.urlencode() + "&") if kept else ""


def board_streams(request) -> list[str]:
    """The streams that announce the board's changes: the staff streams of 派单台 (case frames
    and the services app's request frames go there), and each of the user's units."""
    units = [f"unit.{u}" for u in sorted(unit_ids_of(request.user))]
    return (staff_streams(request.console) + units)[:50]


@console_view(units=True)
def board(request):
    params = request.GET
    units = list(board_units(request).select_related("region").order_by("region__code", "name"))
    filters = read_filters(params, {u.pk for u in units})
    now = timezone.now()
    base = board_cases(request)
    counts = board_counts(narrowed(base, filters), now, case="")
    options = list_options(request, SORTS, ORDERING, default_size=PAGE_SIZE)
    listing = _with_relations(listed(base, filters, now)).order_by(*options.ordering)
    page = Paginator(listing, options.per_page).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    kinds = [(k, kind.label) for k, kind in KINDS.items() if request.console.is_staff or not kind.staff_only]
    return render(
        request,
        "console/case_board.html",
        {
            "active": "cases",
            "page": page,
            "listing": options,
            "rows": board_rows(list(page.object_list), now),
            "counts": counts,
            "filters": filters,
            "kinds": kinds,
            "units": units,
            "statuses": Status.choices,
            "neighborhoods": Region.objects.filter(pk__in=request.console.neighborhood_ids).order_by("code"),
            "params": params,
            "querystring_base": (query.urlencode() + "&") if query else "",
            "filter_query": query.urlencode(),
            "base_filters": _card_query(filters),
            "realtime_streams": board_streams(request),
        },
    )


def _row_response(request, case_id: int) -> HttpResponse:
    """One row for the live board: 404 outside the scope; with `match=1` (a new case), 204 when
    it does not match the page's filters (passed along in the query string), so the page adds
    only rows it would have listed."""
    case = _with_relations(board_cases(request)).filter(pk=case_id).first()
    if case is None:
        raise Http404()
    now = timezone.now()
    if request.GET.get("match") == "1":
        units = set(board_units(request).values_list("pk", flat=True))
        if not listed(board_cases(request), read_filters(request.GET, units), now).filter(pk=case_id).exists():
            return HttpResponse(status=204)
    return render(
        request,
        "console/_case_row.html",
        {"row": board_rows([case], now)[0], "is_new": request.GET.get("match") == "1"},
    )


@console_view(units=True)
def board_row(request, case_id: int):
    return _row_response(request, case_id)


@console_view(units=True)
def board_row_for_request(request, request_id: int):
    """The row of a service request's case, for the services app's frames (which name the request)."""
    case_id = ServiceRequest.objects.filter(pk=request_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise Http404()
    return _row_response(request, case_id)


@console_view(units=True)
def board_counts_json(request):
    """The count cards for the page's filters, for the live page to redraw."""
    units = set(board_units(request).values_list("pk", flat=True))
    filters = read_filters(request.GET, units)
    return JsonResponse(board_counts(narrowed(board_cases(request), filters), timezone.now(), case=""))
