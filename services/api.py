"""Thin views: validate, access_*, one action or query, serialize."""

from __future__ import annotations

from dataclasses import asdict

from django.db.models import Count, Q, prefetch_related_objects
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput
from core.idempotency import idempotent
from core.pagination import page_response, paginate_keyset, parse_limit
from core.throttling import ServiceRequestThrottle
from residents.access import profile, require_staff
from services import list_rows, queries
from services.access import (
    FullView,
    access_service_plan,
    access_service_request,
    allowed_transitions,
    full_view_reason,
    provider_org_ids,
    sees_unchecked_text,
    visible_plans_for,
    visible_requests_for,
)
from services.actions.bulk import do_bulk_transition
from services.actions.follow_up import do_follow_up_service_request
from services.actions.plans import (
    do_cancel_service_plan,
    do_create_service_plan,
    do_pause_service_plan,
    do_resume_service_plan,
)
from services.actions.privacy import do_log_sensitive_view
from services.actions.ratings import do_rate_service_request
from services.actions.requests import CheckedServiceRequest, check_create_service_request, do_create_service_request
from services.actions.text_review import do_review_service_text
from services.actions.transitions import do_transition_service_request
from services.models import ServiceItem, ServicePlan, ServiceRating, ServiceRequest, TextStatus
from services.serializers import (
    BulkTransitionIn,
    BulkTransitionOut,
    CatalogOut,
    CountsOut,
    FollowUpIn,
    PlanActionOut,
    PlanListIn,
    RatingIn,
    RatingOut,
    SatisfactionOut,
    SatisfactionQueryIn,
    ServicePlanIn,
    ServicePlanOut,
    ServicePlanPageOut,
    ServiceRequestCreateIn,
    ServiceRequestDetailOut,
    ServiceRequestEventOut,
    ServiceRequestEventPageOut,
    ServiceRequestPageOut,
    TextReviewIn,
    TransitionIn,
)

IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False, description="防重复提交")


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _item(item_id: int) -> ServiceItem:
    item = queries.catalog_item(item_id)
    if item is None or not item.is_active:
        raise InvalidInput("unknown_item", "服务项目不存在或已停用", field="item")
    return item


def _detail_response(request, service_request, status: int = 200) -> Response:
    """Full address/health only for the requester's family, region staff and the open request's
    provider; staff and provider views are logged."""
    if status == 201:
        service_request.visible_photos = []  # just created: no completion photos yet
    else:
        prefetch_related_objects([service_request], queries.visible_photos(request.user))
    reason = full_view_reason(request.user, service_request)
    if reason in (FullView.STAFF, FullView.PROVIDER):
        do_log_sensitive_view(actor=request.user, request=service_request, screen=request.path)
    context = {
        "full": reason is not None,
        "allowed_transitions": allowed_transitions(request.user, service_request),
        "viewer": request.user,
    }
    return Response(ServiceRequestDetailOut(service_request, context=context).data, status=status)


class CatalogView(APIView):
    @extend_schema(operation_id="service_catalog", responses=CatalogOut, summary="服务目录（大类 → 小类）")
    def get(self, request):
        return Response(CatalogOut({"categories": list(queries.catalog())}).data)


LIST_PARAMS = [
    OpenApiParameter("status", str, many=True),
    OpenApiParameter("category", int),
    OpenApiParameter("item", int),
    OpenApiParameter("neighborhood", int),
    OpenApiParameter("street", int),
    OpenApiParameter("plan", int),
    OpenApiParameter("overdue", bool),
    OpenApiParameter("created_from", str, description="YYYY-MM-DD"),
    OpenApiParameter("created_to", str, description="YYYY-MM-DD"),
    OpenApiParameter("scope", str, enum=["mine", "assigned", "region"]),
    OpenApiParameter("text_pending", str, enum=["true"], description="只看有待内容审核（备注或评价）的工单"),
    OpenApiParameter("follow_up", str, enum=["open", "overdue"], description="低分评价待回访的工单；overdue：已过回访时限"),
    OpenApiParameter("ordering", str, enum=["queue", "newest"], description="queue：超时优先、按截止时间；newest：最新优先"),
    OpenApiParameter("cursor", str),
    OpenApiParameter("limit", int),
]


def _filtered(request, queryset):
    filterset = queries.ServiceRequestFilter(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise InvalidInput("invalid_filter", "筛选条件有误", fields={k: [str(e) for e in v] for k, v in filterset.errors.items()})
    return filterset.qs


def _check_create(view, request) -> CheckedServiceRequest:
    """Validation and the content check of a typed note, before the create's transaction opens."""
    data = _valid(ServiceRequestCreateIn, request.data)
    return check_create_service_request(
        actor=request.user,
        item=_item(data["item"]),
        beneficiary_id=data.get("beneficiary"),
        scheduled_for=data.get("scheduled_for"),
        note=data["note"],
        extra=data["extra"],
        health_note=data["health_note"],
    )


class ServiceRequestListCreateView(APIView):
    throttle_classes = [ServiceRequestThrottle]

    @extend_schema(operation_id="service_requests_list", parameters=LIST_PARAMS, responses=ServiceRequestPageOut,
                   summary="服务工单列表（居民：本人及家人；服务人员：派给我的；工作人员：本辖区）")
    def get(self, request):
        # Plain rows, not instances and serializers: the staff queue is read all day (services/list_rows.py).
        queryset = _filtered(request, visible_requests_for(request.user, base=list_rows.listing()))
        ordering_name = request.query_params.get("ordering")
        if ordering_name not in (None, "", "queue", "newest"):
            raise InvalidInput("invalid_filter", "排序方式有误", fields={"ordering": ["queue 或 newest"]})
        if not ordering_name:
            is_worker = profile(request.user).is_staff or provider_org_ids(request.user)
            ordering_name = "queue" if is_worker else "newest"
        ordering = queries.QUEUE_ORDERING if ordering_name == "queue" else queries.NEWEST_ORDERING
        page = paginate_keyset(
            queryset, ordering=ordering, cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, list_rows.rows(page.items, request.user)))

    @extend_schema(operation_id="service_requests_create", request=ServiceRequestCreateIn,
                   responses={201: ServiceRequestDetailOut}, parameters=[IDEMPOTENCY_HEADER], summary="一键申请服务")
    # One commit: the checks (and WeChat's check of a typed note) run first, outside it.
    @idempotent(single_transaction=True, check=_check_create)
    def post(self, request, checked: CheckedServiceRequest):
        service_request = do_create_service_request(checked)
        # The actor just made it, so it is visible to them; the action's instance already carries
        # item/category, beneficiary and neighborhood (re-reading it cost two queries).
        return _detail_response(request, service_request, status=201)


class ServiceRequestDetailView(APIView):
    @extend_schema(operation_id="service_requests_detail", responses=ServiceRequestDetailOut, summary="服务工单详情")
    def get(self, request, request_id: int):
        return _detail_response(request, access_service_request(request.user, request_id))


class TransitionView(APIView):
    @extend_schema(operation_id="service_requests_transition", request=TransitionIn, responses=ServiceRequestDetailOut,
                   parameters=[IDEMPOTENCY_HEADER], summary="工单状态流转（受理/驳回/派单/开始/完成（可附照片）/取消/重开）")
    @idempotent
    def post(self, request, request_id: int):
        access_service_request(request.user, request_id)
        data = _valid(TransitionIn, request.data)
        do_transition_service_request(
            request_id,
            actor=request.user,
            to=data["to"],
            expected_status=data.get("from_status"),
            note=data["note"],
            reason=data["reason"],
            assignee_org_id=data.get("assignee_org"),
            assignee_user_id=data.get("assignee_user"),
            photos=data["photos"],
        )
        return _detail_response(request, access_service_request(request.user, request_id))


class BulkTransitionView(APIView):
    @extend_schema(operation_id="service_requests_bulk_transition", request=BulkTransitionIn, responses=BulkTransitionOut,
                   parameters=[IDEMPOTENCY_HEADER],
                   summary="批量受理/派单（工作人员）：逐张加锁处理，逐张返回结果；非本辖区的工单按不存在处理")
    @idempotent
    def post(self, request):
        data = _valid(BulkTransitionIn, request.data)
        outcomes = do_bulk_transition(
            actor=request.user,
            ids=data["ids"],
            to=data["to"],
            assignee_org_id=data.get("assignee_org"),
            assignee_user_id=data.get("assignee_user"),
            note=data["note"],
            accept_first=data["accept_first"],
        )
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        body = {"to": data["to"], "results": [asdict(o) for o in outcomes], "counts": counts}
        return Response(BulkTransitionOut(body).data)


class EventsView(APIView):
    @extend_schema(operation_id="service_requests_events", responses=ServiceRequestEventPageOut,
                   parameters=[OpenApiParameter("cursor", str), OpenApiParameter("limit", int)], summary="工单时间线")
    def get(self, request, request_id: int):
        service_request = access_service_request(request.user, request_id)
        rating = ServiceRating.objects.filter(request=service_request).only("comment_status").first()
        hide_rating_comment = (
            rating is not None
            and rating.comment_status != TextStatus.PUBLISHED
            and not sees_unchecked_text(request.user, service_request)
        )
        page = paginate_keyset(
            queries.timeline(service_request, request.user),
            ordering=("created_at", "id"),
            cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit"), default=50),
        )
        context = {"hide_rating_comment": hide_rating_comment}
        return Response(page_response(page, ServiceRequestEventOut(page.items, many=True, context=context).data))


class RatingView(APIView):
    @extend_schema(operation_id="service_requests_rate", request=RatingIn, responses={201: RatingOut},
                   parameters=[IDEMPOTENCY_HEADER], summary="评价已完成的服务")
    @idempotent
    def post(self, request, request_id: int):
        service_request = access_service_request(request.user, request_id)
        data = _valid(RatingIn, request.data)
        rating = do_rate_service_request(request_id, actor=request.user, score=data["score"], comment=data["comment"])
        context = {"viewer": request.user, "request_obj": service_request}
        return Response(RatingOut(rating, context=context).data, status=201)


class TextReviewView(APIView):
    @extend_schema(operation_id="service_requests_text_review", request=TextReviewIn, responses=ServiceRequestDetailOut,
                   parameters=[IDEMPOTENCY_HEADER],
                   summary="审核被内容安全暂扣的申请备注或评价（本辖区工作人员）：通过后服务人员可见，或隐藏")
    @idempotent
    def post(self, request, request_id: int):
        access_service_request(request.user, request_id)
        data = _valid(TextReviewIn, request.data)
        do_review_service_text(request_id, actor=request.user, field=data["field"], decision=data["decision"])
        return _detail_response(request, access_service_request(request.user, request_id))


class FollowUpView(APIView):
    @extend_schema(operation_id="service_requests_follow_up", request=FollowUpIn, responses=ServiceRequestDetailOut,
                   parameters=[IDEMPOTENCY_HEADER],
                   summary="登记低分评价的回访（本辖区工作人员）：低于3星的评价须在24小时内回访")
    @idempotent
    def post(self, request, request_id: int):
        access_service_request(request.user, request_id)
        data = _valid(FollowUpIn, request.data)
        do_follow_up_service_request(request_id, actor=request.user, note=data["note"])
        return _detail_response(request, access_service_request(request.user, request_id))


class CountsView(APIView):
    @extend_schema(operation_id="service_requests_counts", parameters=LIST_PARAMS[:12], responses=CountsOut,
                   summary="本辖区各状态工单数（工作人员）")
    def get(self, request):
        staff = require_staff(request.user)
        queryset = _filtered(request, visible_requests_for(request.user).filter(neighborhood_id__in=staff.staff_of))
        return Response(CountsOut(queries.counts_by_status(queryset)).data)


class SatisfactionView(APIView):
    @extend_schema(
        operation_id="service_stats_satisfaction",
        parameters=[
            OpenApiParameter("group_by", str, enum=list(queries.SATISFACTION_GROUPS)),
            OpenApiParameter("from", str, description="YYYY-MM-DD"),
            OpenApiParameter("to", str, description="YYYY-MM-DD"),
        ],
        responses=SatisfactionOut,
        summary="满意度（4–5 星占比）与平均分，按项目/机构/居委/街道（工作人员）",
    )
    def get(self, request):
        staff = require_staff(request.user)
        params = request.query_params
        data = _valid(
            SatisfactionQueryIn,
            {"group_by": params.get("group_by", "item"), "date_from": params.get("from") or None, "date_to": params.get("to") or None},
        )
        result = queries.satisfaction(staff.staff_of, group_by=data["group_by"], date_from=data.get("date_from"), date_to=data.get("date_to"))
        return Response(SatisfactionOut(result).data)


def _plan_out(plan: ServicePlan) -> dict:
    counts = dict(plan.occurrences.values_list("status").annotate(n=Count("id")).order_by())
    return ServicePlanOut(plan, context={"occurrences": counts}).data


class ServicePlanCreateView(APIView):
    throttle_classes = [ServiceRequestThrottle]

    @extend_schema(
        operation_id="service_plans_list", responses=ServicePlanPageOut, summary="定期服务列表：本人和家人的（工作人员加 scope=region 看本辖区）",
        parameters=[
            OpenApiParameter("scope", str, enum=["mine", "region"], description="mine（默认）：我和家人的；region：本辖区（工作人员）"),
            OpenApiParameter("status", str, enum=["active", "paused", "cancelled"]),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
    )
    def get(self, request):
        data = _valid(PlanListIn, request.query_params)
        plans = visible_plans_for(request.user)
        if data["scope"] == "region":
            plans = plans.filter(neighborhood_id__in=require_staff(request.user).staff_of)
        else:
            plans = plans.filter(Q(requester=request.user) | Q(beneficiary__owner=request.user))
        if data.get("status"):
            plans = plans.filter(status=data["status"])
        page = paginate_keyset(
            plans.select_related("item__category"), ordering=("-created_at", "-id"),
            cursor=request.query_params.get("cursor"), limit=parse_limit(request.query_params.get("limit")),
        )
        counts: dict[int, dict[str, int]] = {}
        for row in (
            ServiceRequest.objects.filter(plan_id__in=[plan.pk for plan in page.items])
            .values("plan_id", "status").annotate(n=Count("id")).order_by()
        ):
            counts.setdefault(row["plan_id"], {})[row["status"]] = row["n"]
        serialized = ServicePlanOut(page.items, many=True, context={"occurrences_by_plan": counts}).data
        return Response(page_response(page, serialized))

    @extend_schema(operation_id="service_plans_create", request=ServicePlanIn, responses={201: ServicePlanOut},
                   parameters=[IDEMPOTENCY_HEADER], summary="定期服务（如每日送餐），按日生成工单")
    @idempotent
    def post(self, request):
        data = _valid(ServicePlanIn, request.data)
        plan = do_create_service_plan(
            actor=request.user,
            item=_item(data["item"]),
            frequency=data["frequency"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            weekdays=data["weekdays"],
            time_slot=data["time_slot"],
            extra=data["extra"],
            beneficiary_id=data.get("beneficiary"),
        )
        return Response(_plan_out(plan), status=201)


class ServicePlanDetailView(APIView):
    @extend_schema(operation_id="service_plans_detail", responses=ServicePlanOut, summary="定期服务详情")
    def get(self, request, plan_id: int):
        return Response(_plan_out(access_service_plan(request.user, plan_id)))


class ServicePlanActionView(APIView):
    ACTIONS = {
        "pause": do_pause_service_plan,
        "resume": do_resume_service_plan,
        "cancel": do_cancel_service_plan,
    }

    @extend_schema(operation_id="service_plans_action", request=None, responses=PlanActionOut,
                   parameters=[IDEMPOTENCY_HEADER], summary="暂停/恢复/取消定期服务（未开始的后续工单随之取消或恢复）")
    @idempotent
    def post(self, request, plan_id: int, action: str):
        access_service_plan(request.user, plan_id)
        plan, changed = self.ACTIONS[action](plan_id, actor=request.user)
        return Response({"plan": _plan_out(plan), "occurrences_changed": changed})
