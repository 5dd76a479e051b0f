"""Thin views for /api/v1/matters: validate, access_matter (404 outside scope), one action,
serialize."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import actions as case_actions
from cases import joint
from cases.access import acts_for_unit, is_reporter, joins_case
from cases.models import Case
from core.errors import Conflict, InvalidInput, NotFound
from core.idempotency import idempotent
from core.pagination import page_response, paginate_keyset, parse_limit
from core.throttling import MatterThrottle
from matters import actions, queries
from matters.access import access_matter, sees_full, visible_matters_for
from matters.models import MatterCategory, MatterItem, MatterSupport
from matters.serializers import (
    MatterAcceptIn,
    MatterAnswerIn,
    MatterCatalogOut,
    MatterCreateIn,
    MatterDetailOut,
    MatterJointIn,
    MatterJointNoteIn,
    MatterListIn,
    MatterMergeIn,
    MatterPageOut,
    MatterRatingIn,
    MatterReasonIn,
    MatterTransferIn,
    event_out,
    matter_out,
    matter_row_out,
)
from residents.access import is_member, is_staff_for, profile

IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False, description="防重复提交")


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def allowed_actions(user, matter) -> list[str]:
    case = matter.case
    out: list[str] = []
    if acts_for_unit(user, case):
        for name, to in (("accept", Case.Status.ACCEPTED), ("reject", Case.Status.REJECTED), ("resolve", Case.Status.RESOLVED)):
            if (case.status, to) in Case.TRANSITIONS:
                out.append(name)
        if case.status in Case.TRANSFERABLE:
            out += ["transfer", "joint"]
    if case.status in joint.JOINABLE and joins_case(user, case):
        out.append("joint_note")
    if case.status in Case.OPEN and is_staff_for(user, matter.neighborhood_id):
        out.append("merge")
    if is_reporter(user, case):
        if case.status == Case.Status.RESOLVED:
            out += ["confirm", "reopen"]
        if case.status in Case.RATABLE and case.rating is None:
            out.append("rate")
    elif case.status in Case.OPEN and is_member(user, matter.neighborhood_id):
        out.append("plus_one")
    return out


def detail_response(request, matter_id: int, status: int = 200) -> Response:
    matter = access_matter(request.user, matter_id)
    full = sees_full(request.user, matter)
    body = matter_out(matter, request.user)
    body["timeline"] = [event_out(e, full=full) for e in queries.timeline(matter)]
    body["allowed_actions"] = allowed_actions(request.user, matter)
    return Response(body, status=status)


class CategoriesView(APIView):
    @extend_schema(operation_id="matter_categories", responses=MatterCatalogOut, summary="诉求分类（大类 → 小类，含受理/办结时限）")
    def get(self, request):
        items: dict[int, list] = {}
        for item in MatterItem.objects.filter(is_active=True).order_by("sort_order", "id"):
            items.setdefault(item.category_id, []).append(
                {"id": item.pk, "name": item.name, "accept_hours": item.accept_hours, "resolve_hours": item.resolve_hours}
            )
        categories = [
            {"id": c.pk, "name": c.name, "items": items.get(c.pk, [])}
            for c in MatterCategory.objects.filter(is_active=True).order_by("sort_order", "id")
        ]
        return Response({"categories": categories})


def _check_create(view, request) -> actions.CheckedMatter:
    data = _valid(MatterCreateIn, request.data)
    item = MatterItem.objects.select_related("category").filter(pk=data["item"], is_active=True, category__is_active=True).first()
    if item is None:
        raise InvalidInput("unknown_item", "诉求分类不存在或已停用", field="item")
    return actions.check_create_matter(
        actor=request.user, item=item, text=data["text"], place=data["place"], latitude=data.get("latitude"),
        longitude=data.get("longitude"), neighborhood_id=data.get("neighborhood"), hide_name=data["hide_name"],
        photo_ids=data["photos"], insist=data["insist"],
    )


class MatterListCreateView(APIView):
    throttle_classes = [MatterThrottle]  # counts the POST only: reading the lists is free
    @extend_schema(
        operation_id="matters_list", responses=MatterPageOut,
        parameters=[
            OpenApiParameter("scope", str, enum=["mine", "neighborhood", "queue"],
                             description="mine：我反映的和我也遇到的；neighborhood：本居委公开的诉求；queue：待我单位办理的（超时优先）"),
            OpenApiParameter("neighborhood", int), OpenApiParameter("status", str),
            OpenApiParameter("cursor", str), OpenApiParameter("limit", int),
        ],
        summary="诉求列表",
    )
    def get(self, request):
        data = _valid(MatterListIn, request.query_params)
        ordering = queries.NEWEST
        if data["scope"] != "queue":
            matters = visible_matters_for(request.user, base=queries.rows())
        if data["scope"] == "mine":
            supported = MatterSupport.objects.filter(matter=OuterRef("pk"), user=request.user)
            matters = matters.filter(Q(reporter=request.user) | Q(Exists(supported)))
        elif data["scope"] == "neighborhood":
            p = profile(request.user)
            reachable = p.member_of | p.staff_of
            wanted = data.get("neighborhood")
            if wanted is not None and wanted not in reachable:
                raise NotFound("neighborhood_not_found", "居委/村不存在")
            matters = matters.filter(neighborhood_id__in=[wanted] if wanted is not None else reachable)
        else:
            # What waits for the caller's unit or neighborhoods is inside what they may see (the
            # units and staff neighborhoods of visible_matters_for; tests/matters/test_list_rows.py):
            # the queue reads no visibility subqueries, which every row of the table was tested against.
            matters = queries.queue(queries.rows(), request.user)
            ordering = queries.QUEUE
        if data.get("status"):
            matters = matters.filter(case__status=data["status"])
        page = paginate_keyset(
            matters, ordering=ordering, cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit")),
        )
        rows = queries.attach(page.items)
        return Response(page_response(page, [matter_row_out(row, request.user) for row in rows]))

    @extend_schema(operation_id="matters_create", request=MatterCreateIn, responses={201: MatterDetailOut},
                   parameters=[IDEMPOTENCY_HEADER],
                   summary="一键表达：反映诉求（附近已有同类未办结诉求时答 409 similar_matter_open，可「我也遇到」或 insist 坚持提交）")
    # One commit: the checks (WeChat's content check of the text, routing, the +1 offer) run
    # first, outside it; then the matter, its case and the Idempotency-Key record are one write.
    @idempotent(single_transaction=True, check=_check_create)
    def post(self, request, checked: actions.CheckedMatter):
        matter = actions.do_open_matter(checked, actor=request.user)
        return detail_response(request, matter.pk, status=201)


class MatterDetailView(APIView):
    @extend_schema(operation_id="matters_detail", responses=MatterDetailOut, summary="诉求详情（含时间线）")
    def get(self, request, matter_id: int):
        return detail_response(request, matter_id)


def _case_view(operation_id: str, summary: str, body, run):
    """A POST /matters/<id>/<verb> view: access (404 outside scope), validate, one engine action."""

    class View(APIView):
        @extend_schema(operation_id=operation_id, request=body, responses=MatterDetailOut, parameters=[IDEMPOTENCY_HEADER],
                       summary=summary)
        @idempotent
        def post(self, request, matter_id: int):
            matter = access_matter(request.user, matter_id)
            data = _valid(body, request.data) if body is not None else {}
            run(matter, request.user, data)
            return detail_response(request, matter_id)

    View.__name__ = f"{operation_id.title().replace('_', '')}View"
    return View


AcceptView = _case_view(
    "matters_accept", "受理（责任单位或本辖区工作人员；两人同时受理，后到者 409）", MatterAcceptIn,
    lambda m, u, d: case_actions.do_accept_case(m.case_id, actor=u, expected_status=d.get("from_status") or None),
)
RejectView = _case_view(
    "matters_reject", "退回（须填原因，反映人可见）", MatterReasonIn,
    lambda m, u, d: case_actions.do_reject_case(m.case_id, actor=u, reason=d["reason"]),
)
TransferView = _case_view(
    "matters_transfer", "转办到其他单位（须填原因；来回转办 409 transfer_loop）", MatterTransferIn,
    lambda m, u, d: case_actions.do_transfer_case(m.case_id, actor=u, to_unit_id=d["unit"], reason=d["reason"], override=d["override"]),
)
ResolveView = _case_view(
    "matters_resolve", "答复/办结（可附最多 9 张照片，反映人和「我也遇到」的居民都能看到）", MatterAnswerIn,
    lambda m, u, d: case_actions.do_resolve_case(m.case_id, actor=u, answer=d["answer"], photo_ids=d["photos"]),
)
ConfirmView = _case_view(
    "matters_confirm", "反映人确认已解决", None,
    lambda m, u, d: case_actions.do_confirm_case(m.case_id, actor=u),
)
def _reopen(matter, user, data):
    if matter.merged_into_id is not None and is_reporter(user, matter.case):
        raise Conflict("matter_merged", "该诉求已合并到其他诉求一并办理，请在合并后的诉求中跟进", into=matter.merged_into_id,
                       status=matter.case.status)
    case_actions.do_reopen_case(matter.case_id, actor=user, reason=data["reason"])


ReopenView = _case_view("matters_reopen", "反映人重新打开（答复后7天内；已合并的诉求 409 matter_merged）", MatterReasonIn, _reopen)
RatingView = _case_view(
    "matters_rate", "评价（确认或办结后，一次；留言经内容安全审核）", MatterRatingIn,
    lambda m, u, d: case_actions.do_rate_case(m.case_id, actor=u, score=d["score"], comment=d.get("comment", "")),
)
PlusOneView = _case_view(
    "matters_plus_one", "我也遇到（+1，本居委居民）", None,
    lambda m, u, d: actions.do_support_matter(m.pk, actor=u),
)
MergeView = _case_view(
    "matters_merge", "合并：把这件（后反映的）并入同一居委/村先反映的未办结诉求（本辖区工作人员）", MatterMergeIn,
    lambda m, u, d: actions.do_merge_matters(m.pk, into_id=d["into"], actor=u, reason=d.get("reason", "")),
)
JointView = _case_view(
    "matters_joint", "请其他单位会办（承办单位或本辖区工作人员；会办单位可见并填写会办意见，仍由承办单位答复）", MatterJointIn,
    lambda m, u, d: joint.do_request_joint_handling(m.case_id, actor=u, unit_ids=d["units"], reason=d["reason"]),
)
JointNoteView = _case_view(
    "matters_joint_note", "会办单位填写会办意见（记入时间线）", MatterJointNoteIn,
    lambda m, u, d: joint.do_add_joint_note(m.case_id, actor=u, text=d["text"], unit_id=d.get("unit")),
)
