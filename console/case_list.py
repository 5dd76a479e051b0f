"""GET /api/v1/cases and /api/v1/cases/counts: 案件总台 over the API — matters and service
requests from the one `Case` table, for a region's staff and the units that fix things
(docs/matters.md, "One list over every kind").

The rows, scope and filters are the console board's (console/views/case_board.py): what the board
lists for a user, this lists for the same user, earliest running deadline first (the overdue
lead; answered cases, which have none, last), paged by cursor. Each row names its kind's own
object (`ref_id`: GET /api/v1/matters/{ref_id} or /api/v1/service-requests/{ref_id}), where the
moves are made. Here, under console, because it reads matters and services, sibling apps that
never import each other (.importlinter).

Queries per page: the cases with their units and neighborhood, and one per kind on the page.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import DateTimeField, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.access import unit_ids_of
from cases.models import Case
from console.access import console_scope
from console.views.case_board import KINDS, Filters, board_rows, cases_in_scope, listed, narrowed, units_in_scope
from console.views.matters import board_counts
from core.errors import Forbidden, InvalidInput, NotFound
from core.pagination import page_response, paginate_keyset, parse_limit
from core.times import api_datetime

# A running deadline first (earliest first), then the cases with none; newest first within.
ORDERING = ("due_sort", "-id")
NO_DEADLINE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class CaseListIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(KINDS), required=False, help_text="matter 诉求；service_request 为老服务")
    status = serializers.MultipleChoiceField(choices=Case.Status.choices, required=False,
                                             help_text="可重复；不填且不筛超时则为未办结的")
    overdue = serializers.BooleanField(required=False, default=False, help_text="只看已超时的")
    unit = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, help_text="责任或督办单位")
    neighborhood = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class CaseRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CaseRowOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=list(KINDS))
    kind_label = serializers.CharField()
    ref_id = serializers.IntegerField(allow_null=True, help_text="诉求或服务工单的编号（其详情与办理操作所在）")
    title = serializers.CharField()
    place = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Case.Status.choices)
    status_label = serializers.CharField()
    unit = CaseRefOut(allow_null=True)
    supervising_unit = CaseRefOut(allow_null=True)
    neighborhood = CaseRefOut()
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class CasePageOut(serializers.Serializer):
    results = CaseRowOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class CaseCountsOut(serializers.Serializer):
    submitted = serializers.IntegerField(help_text="待受理")
    accepted = serializers.IntegerField(help_text="办理中")
    resolved = serializers.IntegerField(help_text="已答复待确认")
    overdue = serializers.IntegerField(help_text="已超时")


def _read(request) -> tuple[QuerySet[Case], Filters]:
    """The caller's cases and the filters of the query string (a bad one is a 400, a unit
    outside the caller's offer a 404)."""
    scope = console_scope(request.user)
    if not scope.is_staff and not unit_ids_of(request.user):
        raise Forbidden("case_staff_only", "仅居委、街道工作人员和责任单位可查看案件列表")
    serializer = CaseListIn(data=request.query_params)
    if not serializer.is_valid():
        field = next(iter(serializer.errors))
        raise InvalidInput("invalid_filter", f"筛选条件无效：{field}", field=field)
    data = serializer.validated_data
    unit_id = data.get("unit")
    if unit_id is not None and not units_in_scope(scope).filter(pk=unit_id).exists():
        raise NotFound("unit_not_found", "单位不存在")
    filters = Filters.chosen(kind=data.get("kind"), unit_id=unit_id, neighborhood_id=data.get("neighborhood"),
                             statuses=sorted(data.get("status") or []), overdue=data["overdue"])
    return cases_in_scope(scope), filters


def _named(obj) -> dict | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def _row_out(row: dict) -> dict:
    case, ref = row["case"], row["ref"]
    return {
        "id": case.pk, "kind": case.kind, "kind_label": row["kind_label"], "ref_id": ref.get("ref"),
        "title": ref.get("title", ""), "place": ref.get("place", ""), "status": case.status,
        "status_label": Case.Status(case.status).label, "unit": _named(case.unit),
        "supervising_unit": _named(case.supervising_unit), "neighborhood": _named(case.neighborhood),
        "due_at": api_datetime(case.due_at), "overdue": row["overdue"], "created_at": api_datetime(case.created_at),
    }


FILTERS = [
    OpenApiParameter("kind", str, enum=list(KINDS)), OpenApiParameter("status", str, many=True),
    OpenApiParameter("overdue", bool), OpenApiParameter("unit", int), OpenApiParameter("neighborhood", int),
]


class CaseListView(APIView):
    @extend_schema(
        operation_id="cases_list", responses=CasePageOut,
        parameters=[*FILTERS, OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        summary="案件总台：本辖区（或本单位）的诉求和为老服务案件，超时优先（工作人员、责任单位）",
    )
    def get(self, request):
        base, filters = _read(request)
        now = timezone.now()
        rows = listed(base, filters, now).select_related("unit", "supervising_unit", "neighborhood").annotate(
            due_sort=Coalesce("due_at", Value(NO_DEADLINE, output_field=DateTimeField()))
        )
        page = paginate_keyset(rows, ordering=ORDERING, cursor=request.query_params.get("cursor"),
                               limit=parse_limit(request.query_params.get("limit")))
        return Response(page_response(page, [_row_out(row) for row in board_rows(page.items, now)]))


class CaseCountsView(APIView):
    @extend_schema(operation_id="cases_counts", responses=CaseCountsOut, parameters=FILTERS,
                   summary="案件总台的计数（与列表同一范围和筛选；状态筛选不影响计数）")
    def get(self, request):
        base, filters = _read(request)
        return Response(board_counts(narrowed(base, filters), timezone.now(), case=""))
