"""Every write in the services app. Each action runs in one transaction, locks the rows it
changes, writes the timeline event, and announces the change on commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from core.times import api_datetime
from images.pipeline import validate_image_ids
from moderation import recheck
from moderation.content import SCENE_COMMENT, check_text, schedule_recheck
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from notifications.realtime import publish_on_commit
from residents.access import current_neighborhood_id, is_staff_for, profile, require_staff
from residents.models import Beneficiary, Membership, Region, Role, User
from services.access import is_family_of, may_act_as
from services.beneficiary_sql import live_beneficiary
from services.extra import clean_extra, field_definition, unanswered, with_fallbacks
from services.models import (
    ProviderOrganization,
    SatisfactionDaily,
    ServiceItem,
    ServicePlan,
    ServiceRating,
    ServiceRequest,
    ServiceRequestEvent,
    ServiceRequestPhoto,
    TextStatus,
)

Status = ServiceRequest.Status
STATUS_KIND = "service_request_status"
# When a recurring meal (or visit) is due, by the slot the resident chose.
SLOT_TIMES = {"早餐": dt.time(7, 30), "午餐": dt.time(11, 30), "晚餐": dt.time(17, 30)}
DEFAULT_SLOT_TIME = dt.time(9, 0)
MAX_PLAN_DAYS = 92


def _page(request_id: int) -> str:
    return f"pages/services/detail?id={request_id}"


# --- content check of what residents type ----------------------------------------------


def _check_resident_text(author: User, text: str, *, typed_by_staff: bool = False) -> str:
    """The TextStatus a resident's note or comment is born with (moderation.content: msgSecCheck v2).

    risky → InvalidInput content_rejected (the caller saves nothing); review → pending_review;
    WeChat unreachable → pending_check, and the request is accepted anyway: an elder's request
    must never be lost to a content check. Staff of the region are the reviewers, so their own
    text is not sent. Call outside any transaction: a network call must not hold row locks."""
    if typed_by_staff or not text.strip():
        return TextStatus.PUBLISHED
    return check_text(user=author, content=text, scene=SCENE_COMMENT).status


def _schedule_text_recheck() -> None:
    from moderation.tasks import recheck_pending_content

    schedule_recheck(recheck_pending_content, delay_setting="SERVICES_TEXT_RECHECK_DELAY_SECONDS")


# --- who is it for, where, and may they ask ------------------------------------------


@dataclass
class Subject:
    beneficiary: Beneficiary | None
    neighborhood: Region
    address: str
    health_note: str
    filed_on_behalf: bool


def _resolve_subject(actor: User, beneficiary_id: int | None) -> Subject:
    """The beneficiary (explicit, else the actor's default elder, else the actor themself),
    the neighborhood the service happens in, and the address to copy onto the request."""
    p = profile(actor)
    if beneficiary_id is not None:
        beneficiary = live_beneficiary(pk=beneficiary_id)
        if beneficiary is None:
            raise NotFound("beneficiary_not_found", "服务对象不存在")
        if beneficiary.owner_id == actor.pk:
            filed_on_behalf = False
        elif beneficiary.neighborhood_id in p.staff_of:
            # Committee staff filing for an elder without a phone, in their own region.
            filed_on_behalf = True
        else:
            raise NotFound("beneficiary_not_found", "服务对象不存在")
    else:
        beneficiary = live_beneficiary(default_of=actor.pk)
        filed_on_behalf = False
    if beneficiary is not None:
        # The elder's neighborhood, not the family member's: the service happens where the elder lives.
        if not filed_on_behalf and not p.member_of and not p.is_staff:
            raise Forbidden("membership_required", "请先加入所在居委/村并通过审核")
        return Subject(
            beneficiary=beneficiary,
            neighborhood=beneficiary.neighborhood,
            address=beneficiary.address,
            health_note=beneficiary.health_notes,
            filed_on_behalf=filed_on_behalf,
        )
    neighborhood_id = current_neighborhood_id(actor)
    if neighborhood_id is None:
        raise Forbidden("membership_required", "请先加入所在居委/村并通过审核")
    membership = (
        Membership.objects.select_related("neighborhood")
        .filter(user=actor, neighborhood_id=neighborhood_id, status=Membership.Status.APPROVED)
        .first()
    )
    assert membership is not None
    address = f"{membership.neighborhood.name}{membership.building}{membership.room}"
    return Subject(None, membership.neighborhood, address, "", False)


def _check_eligible(actor: User, item: ServiceItem, subject: Subject) -> None:
    if not item.is_active or not item.category.is_active:
        raise InvalidInput("unknown_item", "服务项目不存在或已停用", field="item")
    if item.who_may_ask == ServiceItem.Requester.STAFF_ONLY and not is_staff_for(actor, subject.neighborhood.pk):
        raise Forbidden("not_eligible", "该服务需由居委代为申请", reason="staff_only")
    if item.min_age:
        if subject.beneficiary is None:
            raise Forbidden(
                "not_eligible", f"该服务面向{item.min_age}周岁以上老人，请先登记服务对象的出生年份",
                reason="age_unknown", min_age=item.min_age,
            )
        if subject.beneficiary.age < item.min_age:
            raise Forbidden(
                "not_eligible", f"该服务面向{item.min_age}周岁以上老人", reason="too_young", min_age=item.min_age
            )


def _due_times(item: ServiceItem, now: dt.datetime, scheduled_for: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    start = scheduled_for if scheduled_for and scheduled_for > now else now
    return now + item.accept_within, start + item.complete_within


def _board_payload(req: ServiceRequest) -> dict[str, Any]:
    """What the console's dispatch board needs to redraw a card (no address, no health notes)."""
    return {
        "id": req.pk,
        "item_id": req.item_id,
        "status": req.status,
        "neighborhood_id": req.neighborhood_id,
        # As the REST detail shows them (+08:00), not the stored UTC value.
        "accept_due_at": api_datetime(req.accept_due_at),
        "complete_due_at": api_datetime(req.complete_due_at),
        "filed_on_behalf": req.filed_on_behalf,
    }


def _announce_created(req: ServiceRequest, item: ServiceItem) -> None:
    payload = _board_payload(req)
    do_notify(
        # Read inside the inbox INSERT on PostgreSQL (notifications.inbox_sql): no query of its own.
        recipients=RoleHolders(req.neighborhood_id, Role.Kind.COMMITTEE_STAFF),
        kind="service_request_new",
        title=f"新服务申请：{item.name}",
        body=f"{req.beneficiary_name or '居民'}申请{item.name}，请在受理时限内处理",
        page=_page(req.pk),
        # What the staff's push shows (notifications/demo.py); no address or health note (an outbox row keeps it).
        data={
            "service_request_id": req.pk, "service_name": item.name, "neighborhood_name": req.neighborhood.name,
            "accept_due_at": req.accept_due_at,
        },
        event_key=f"service_request:{req.pk}:created",
        fresh=True,  # the request was made a moment ago in this transaction
        # The dispatch board's two events go in the same INSERT as the staff's inbox events.
        also_publish=[
            (f"staff.neighborhood.{req.neighborhood_id}", "service_request.created", payload),
            (f"staff.street.{req.street_id}", "service_request.created", payload),
        ],
    )


# --- create ----------------------------------------------------------------------------


def do_create_service_request(
    *,
    actor: User,
    item: ServiceItem,
    beneficiary_id: int | None = None,
    scheduled_for: dt.datetime | None = None,
    note: str = "",
    extra: dict[str, Any] | None = None,
    health_note: str | None = None,
) -> ServiceRequest:
    """One tap: everything not given comes from the requester's membership and default elder."""
    subject = _resolve_subject(actor, beneficiary_id)
    _check_eligible(actor, item, subject)
    now = timezone.now()
    answers = with_fallbacks(item.fields, extra or {}, last=_last_answers(actor, item, extra), now=now)
    cleaned = clean_extra(item.fields, answers, require_all=False)
    if scheduled_for is not None and scheduled_for < now - dt.timedelta(minutes=5):
        raise InvalidInput("scheduled_in_past", "预约时间不能早于现在", field="scheduled_for")
    accept_due_at, complete_due_at = _due_times(item, now, scheduled_for)
    note_status = _check_resident_text(actor, note, typed_by_staff=is_staff_for(actor, subject.neighborhood.pk))
    # No savepoint inside the caller's transaction (the one-tap view's): nothing here is caught
    # and retried, so a failure rolls back everything either way, and two round trips are saved.
    with transaction.atomic(savepoint=False):
        req = ServiceRequest(
            item=item,
            requester=actor,
            created_by=actor,
            beneficiary=subject.beneficiary,
            beneficiary_name=subject.beneficiary.name if subject.beneficiary else actor.display_name,
            neighborhood=subject.neighborhood,
            street_id=subject.neighborhood.parent_id,
            filed_on_behalf=subject.filed_on_behalf,
            address=subject.address,
            health_note=subject.health_note if health_note is None else health_note,
            note=note,
            note_status=note_status,
            extra=cleaned,
            scheduled_for=scheduled_for,
            accept_due_at=accept_due_at,
            complete_due_at=complete_due_at,
        )
        created = ServiceRequestEvent(
            kind=ServiceRequestEvent.Kind.CREATED, actor=actor, from_status="", to_status=req.status,
            note="居委代为申请" if subject.filed_on_behalf else "",
        )
        req.save(force_insert=True)
        created.request = req
        created.save(force_insert=True)
        _announce_created(req, item)
        if note_status == TextStatus.PENDING_CHECK:
            _schedule_text_recheck()
    return req


def _last_answers(actor: User, item: ServiceItem, given: Any) -> dict[str, Any]:
    """The requester's answers on their last request for this item; read only when one is missing."""
    if not unanswered(item.fields, given):
        return {}
    last = (
        ServiceRequest.objects.filter(requester=actor, item=item)
        .order_by("-created_at")
        .values_list("extra", flat=True)
        .first()
    )
    return last if isinstance(last, dict) else {}


# --- the state machine -----------------------------------------------------------------


def _lock(request_id: int) -> ServiceRequest:
    """Call inside a transaction. The lock serialises two people moving the same request."""
    try:
        return ServiceRequest.objects.select_for_update(of=("self",)).select_related("item", "beneficiary", "neighborhood").get(pk=request_id)
    except ServiceRequest.DoesNotExist:
        raise NotFound("service_request_not_found", "服务工单不存在") from None


def _state_changed(req: ServiceRequest) -> Conflict:
    return Conflict("request_state_changed", "工单状态已变化，请刷新后重试", current=req.status)


def _resolve_assignee(
    req: ServiceRequest, org_id: int | None, user_id: int | None
) -> tuple[ProviderOrganization | None, User | None]:
    org = None
    if org_id is not None:
        org = ProviderOrganization.objects.filter(pk=org_id).first()
        if org is None or not org.serves_street(req.street_id):
            raise InvalidInput("invalid_assignee", "服务机构不存在或不服务本街道", field="assignee_org")
    volunteer = None
    if user_id is not None:
        volunteer = User.objects.filter(pk=user_id, is_active=True, deleted_at__isnull=True).first()
        if volunteer is None:
            raise InvalidInput("invalid_assignee", "服务人员不存在", field="assignee_user")
        if org is not None:
            ok = org.members.filter(pk=volunteer.pk).exists()
        else:
            # A volunteer working on their own holds the provider role on this street.
            ok = Role.objects.filter(
                user=volunteer, kind=Role.Kind.SERVICE_PROVIDER, region_id=req.street_id, revoked_at__isnull=True
            ).exists()
        if not ok:
            raise InvalidInput("invalid_assignee", "该人员不是本街道的服务人员", field="assignee_user")
    if org is None and volunteer is None:
        default = req.item.default_provider
        if default is None or not default.serves_street(req.street_id):
            raise InvalidInput("assignee_required", "请选择服务机构或志愿者", field="assignee_org")
        org = default
    return org, volunteer


def _record(
    req: ServiceRequest, *, actor: User | None, from_status: str, kind: str = ServiceRequestEvent.Kind.TRANSITION,
    note: str = "", data: dict | None = None,
) -> ServiceRequestEvent:
    return ServiceRequestEvent.objects.create(
        request=req, kind=kind, actor=actor, from_status=from_status, to_status=req.status, note=note, data=data or {}
    )


def _announce_status(req: ServiceRequest, event: ServiceRequestEvent) -> None:
    """Tell the requester and the elder's registered family, and redraw the dispatch board."""
    label = Status(req.status).label
    recipients = {req.requester_id}
    if req.beneficiary_id is not None:
        recipients.add(req.beneficiary.owner_id)
    do_notify(
        recipients=recipients,
        kind=STATUS_KIND,
        title=f"{req.item.name}：{label}",
        body=event.note or f"您的服务申请{label}",
        page=_page(req.pk),
        data={
            "service_request_id": req.pk, "status": req.status, "event_id": event.pk,
            "service_name": req.item.name, "status_label": label,
        },
        event_key=f"service_request:{req.pk}:{event.pk}",
    )
    payload = {"id": req.pk, "status": req.status, "event_id": event.pk}
    publish_on_commit(f"user.{req.requester_id}", "service_request.status_changed", payload)
    board = _board_payload(req)
    publish_on_commit(f"staff.neighborhood.{req.neighborhood_id}", "service_request.updated", board)
    # Street officers watch the street's stream: their board and counts change too.
    publish_on_commit(f"staff.street.{req.street_id}", "service_request.updated", board)


def do_transition_service_request(
    request_id: int,
    *,
    actor: User,
    to: str,
    expected_status: str | None = None,
    note: str = "",
    reason: str = "",
    assignee_org_id: int | None = None,
    assignee_user_id: int | None = None,
    photos: list[int] | None = None,
) -> ServiceRequest:
    """Move a request along the table. Raises Conflict(request_state_changed) when the request
    is no longer where the caller saw it (or where the move starts), Forbidden when the move is
    not the caller's to make. `photos` (image ids the acting provider uploaded) go only with
    `completed`."""
    if to == Status.RATED:
        raise InvalidInput("use_rating_endpoint", "请通过评价接口完成评价", field="to")
    photos = list(photos or [])
    if photos and to != Status.COMPLETED:
        raise InvalidInput("photos_not_allowed", "只有完成服务时可以上传照片", field="photos")
    with transaction.atomic():
        req = _lock(request_id)
        if expected_status is not None and expected_status != req.status:
            raise _state_changed(req)
        role = req.actor_for(to)
        behalf_role = ServiceRequest.ON_BEHALF.get((req.status, to))
        on_behalf = False
        if role is None and behalf_role is None:
            raise _state_changed(req)
        if role is None or not may_act_as(actor, req, role):
            if behalf_role is None or not may_act_as(actor, req, behalf_role):
                raise Forbidden("transition_not_allowed", "您不能执行此操作", to=to, current=req.status)
            on_behalf = True
            if not note.strip():
                raise InvalidInput("note_required", "代为确认完成须说明确认方式（如：电话确认）", field="note")
        now = timezone.now()
        from_status = req.status
        fields = ["status", "updated_at"]
        data: dict[str, Any] = {}
        if to == Status.REJECTED:
            if not reason.strip():
                raise InvalidInput("reason_required", "驳回须填写原因", field="reason")
            req.reject_reason = reason.strip()[:200]
            fields.append("reject_reason")
        elif to == Status.ASSIGNED:
            org, volunteer = _resolve_assignee(req, assignee_org_id, assignee_user_id)
            req.assigned_org, req.assigned_user = org, volunteer
            fields += ["assigned_org", "assigned_user"]
            data = {"assignee_org": org.pk if org else None, "assignee_user": volunteer.pk if volunteer else None}
        elif to == Status.COMPLETED:
            # The same rules as a post's pictures: the actor's own uploads, not rejected, at most 9.
            validate_image_ids(actor, photos, limit=ServiceRequestPhoto.MAX_PER_COMPLETION)
            req.completed_at = now
            req.completion_note = note[:500]
            fields += ["completed_at", "completion_note"]
        elif to == Status.REOPENED:
            if req.completed_at is None or now - req.completed_at > ServiceRequest.REOPEN_WINDOW:
                raise Forbidden("reopen_window_passed", "完成超过7天的工单不能重新打开")
            if from_status == Status.RATED:
                _withdraw_rating(req)
            # A fresh round with fresh deadlines; it may escalate again if it is late again.
            req.accept_due_at, req.complete_due_at = _due_times(req.item, now, None)
            req.escalated_at = None
            fields += ["accept_due_at", "complete_due_at", "escalated_at"]
        if on_behalf:
            data = {**data, "on_behalf": True}
        req.status = to
        req.save(update_fields=fields)
        event = _record(req, actor=actor, from_status=from_status, note=(reason or note)[:500], data=data)
        if photos:
            ServiceRequestPhoto.objects.bulk_create(
                ServiceRequestPhoto(request=req, event=event, image_id=image_id, position=i) for i, image_id in enumerate(photos)
            )
        _announce_status(req, event)
        if to == Status.ASSIGNED:
            _notify_assignee(req, event)
    return req


# --- bulk moves for the dispatch board ---------------------------------------------------

BULK_TARGETS = (Status.ACCEPTED, Status.ASSIGNED)
MAX_BULK_IDS = 100
_BULK_OUTCOME = {400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict"}


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one id of a bulk move. `status` is the request's state after the move
    (ok) or the state that stopped it (conflict); never given for not_found."""

    id: int
    outcome: str  # ok | conflict | not_found | invalid | forbidden
    status_code: int
    status: str | None = None
    error: dict[str, Any] | None = None


def do_bulk_transition(
    *,
    actor: User,
    ids: list[int],
    to: str,
    assignee_org_id: int | None = None,
    assignee_user_id: int | None = None,
    note: str = "",
    accept_first: bool = False,
) -> list[BulkOutcome]:
    """Accept or assign many requests at once (the API's bulk endpoint and the console's dispatch
    board both call this). Each id is its own locked transaction through
    `do_transition_service_request`, so one id that lost a race (409 with its current state) or
    cannot be assigned (400) does not undo the others. Ids outside the actor's region answer
    exactly like ids that do not exist (not_found), and nothing about them is read.

    `accept_first` (with `to=assigned`): a request still `submitted` is accepted and assigned in
    the same transaction — both moves or neither (the dispatch board's "派单" on a fresh request)."""
    if to not in BULK_TARGETS:
        raise InvalidInput("invalid_bulk_target", "批量操作只支持受理或派单", field="to")
    if not ids or len(ids) > MAX_BULK_IDS:
        raise InvalidInput("invalid_bulk_ids", f"一次可处理 1 到 {MAX_BULK_IDS} 张工单", field="ids")
    if len(set(ids)) != len(ids):
        raise InvalidInput("invalid_bulk_ids", "工单重复", field="ids")
    if to != Status.ASSIGNED and (assignee_org_id is not None or assignee_user_id is not None or accept_first):
        raise InvalidInput("assignee_not_allowed", "只有派单时可以指定服务机构或人员", field="assignee_org")
    staff_of = require_staff(actor).staff_of
    # A request never changes neighborhood, so this scoping read need not hold the locks.
    in_region = set(
        ServiceRequest.objects.filter(pk__in=ids, neighborhood_id__in=staff_of).values_list("pk", flat=True)
    )
    outcomes: list[BulkOutcome] = []
    for request_id in ids:
        try:
            if request_id not in in_region:
                raise NotFound("service_request_not_found", "服务工单不存在")
            with transaction.atomic():
                if accept_first and to == Status.ASSIGNED:
                    # Held until this id's transaction ends, so nobody moves it between the two steps.
                    current = _lock(request_id).status
                    if current == Status.SUBMITTED:
                        do_transition_service_request(
                            request_id, actor=actor, to=Status.ACCEPTED, expected_status=Status.SUBMITTED
                        )
                req = do_transition_service_request(
                    request_id, actor=actor, to=to, note=note,
                    assignee_org_id=assignee_org_id, assignee_user_id=assignee_user_id,
                )
        except DomainError as exc:
            outcomes.append(
                BulkOutcome(
                    id=request_id,
                    outcome=_BULK_OUTCOME.get(exc.status_code, "invalid"),
                    status_code=exc.status_code,
                    status=exc.detail.get("current") if exc.status_code == 409 else None,
                    error={"code": exc.code, "message": exc.message, "detail": exc.detail},
                )
            )
        else:
            outcomes.append(BulkOutcome(id=request_id, outcome="ok", status_code=200, status=req.status))
    return outcomes


def _notify_assignee(req: ServiceRequest, event: ServiceRequestEvent) -> None:
    recipients: set[int] = set()
    if req.assigned_user_id:
        recipients.add(req.assigned_user_id)
    elif req.assigned_org_id:
        recipients |= set(req.assigned_org.members.values_list("id", flat=True))
    do_notify(
        recipients=recipients,
        kind="service_request_assigned",
        title=f"新派单：{req.item.name}",
        body=f"服务对象：{req.beneficiary_name}",
        page=_page(req.pk),
        # The neighborhood, never the address: the push and its outbox row stay free of personal values.
        data={
            "service_request_id": req.pk, "service_name": req.item.name, "neighborhood_name": req.neighborhood.name,
            "complete_due_at": req.complete_due_at,
        },
        event_key=f"service_request:{req.pk}:{event.pk}:assignee",
    )


def do_rate_service_request(request_id: int, *, actor: User, score: int, comment: str = "") -> ServiceRating:
    """The requester's word closes a completed request for good. The comment goes through
    msgSecCheck first (risky → 400 and no rating); the checks are repeated under the lock."""
    seen = ServiceRequest.objects.select_related("beneficiary").filter(pk=request_id).first()
    if seen is None:
        raise NotFound("service_request_not_found", "服务工单不存在")
    # Cheap refusals before the network call: do not ask WeChat about a rating that cannot land.
    if not is_family_of(actor, seen):
        raise Forbidden("transition_not_allowed", "只有申请人可以评价")
    _check_ratable(seen)
    comment_status = _check_resident_text(actor, comment)
    with transaction.atomic():
        req = _lock(request_id)
        if not is_family_of(actor, req):
            raise Forbidden("transition_not_allowed", "只有申请人可以评价")
        _check_ratable(req)
        try:
            with transaction.atomic():
                rating = ServiceRating.objects.create(
                    request=req, rater=actor, score=score, comment=comment, comment_status=comment_status
                )
        except IntegrityError:  # the one-per-request constraint, if the row lock was not enough
            raise _state_changed(req) from None
        _count_in_satisfaction(req, rating)
        from_status = req.status
        req.status = Status.RATED
        req.save(update_fields=["status", "updated_at"])
        event = _record(
            req, actor=actor, from_status=from_status, kind=ServiceRequestEvent.Kind.RATED, note=comment[:500],
            data={"score": score},
        )
        _announce_status(req, event)
        if score <= ServiceRating.LOW_UP_TO:
            _open_follow_up(req, actor=actor, score=score)
        if comment_status == TextStatus.PENDING_CHECK:
            _schedule_text_recheck()
    return rating


def _check_ratable(req: ServiceRequest) -> None:
    if req.status == Status.RATED:
        raise Conflict("already_rated", "您已评价过这次服务；如服务没有完成，可以在7天内重新打开", current=req.status)
    if req.status != Status.COMPLETED:
        raise _state_changed(req)


def _open_follow_up(req: ServiceRequest, *, actor: User, score: int) -> None:
    """A low score is a call for help: staff call the family back before the deadline.
    Call inside the rating's transaction, holding the request's row lock."""
    req.follow_up_due_at = timezone.now() + ServiceRating.FOLLOW_UP_WITHIN
    req.followed_up_at = None
    req.save(update_fields=["follow_up_due_at", "followed_up_at"])
    event = _record(
        req, actor=None, from_status=req.status, kind=ServiceRequestEvent.Kind.FOLLOW_UP_OPENED,
        data={"score": score, "due_at": req.follow_up_due_at.isoformat()},
    )
    hours = int(ServiceRating.FOLLOW_UP_WITHIN.total_seconds() // 3600)
    do_notify(
        recipients=RoleHolders(req.neighborhood_id, Role.Kind.COMMITTEE_STAFF),
        kind="service_request_low_rating",
        title=f"低分待回访：{req.item.name}",
        body=f"{req.beneficiary_name or '居民'}的服务评为{score}星，请在{hours}小时内回访",
        page=_page(req.pk),
        data={"service_request_id": req.pk, "score": score},
        event_key=f"service_request:{req.pk}:{event.pk}:follow_up",
    )


def do_follow_up_service_request(request_id: int, *, actor: User, note: str) -> ServiceRequest:
    """Staff record the call-back a low rating asked for."""
    note = note.strip()
    if not note:
        raise InvalidInput("note_required", "请填写回访情况", field="note")
    with transaction.atomic():
        req = _lock(request_id)
        if not may_act_as(actor, req, ServiceRequest.Actor.STAFF):
            raise Forbidden("transition_not_allowed", "只有居委或街道工作人员可以登记回访")
        if req.follow_up_due_at is None or req.followed_up_at is not None:
            raise Conflict("no_follow_up_open", "这条工单没有待回访的低分评价", current=req.status)
        req.followed_up_at = timezone.now()
        req.save(update_fields=["followed_up_at", "updated_at"])
        _record(req, actor=actor, from_status=req.status, kind=ServiceRequestEvent.Kind.FOLLOWED_UP, note=note[:500])
    return req


def _withdraw_rating(req: ServiceRequest) -> None:
    """Reopening a rated request withdraws its rating from the satisfaction figures (the
    timeline keeps the rated event and its score); the next completion is rated afresh.
    Call holding the request's row lock: its provider has not changed since the rating."""
    rating = ServiceRating.objects.filter(request=req).first()
    if rating is None:
        return
    key, satisfied = _satisfaction_key(req, rating)
    SatisfactionDaily.objects.filter(**key).update(
        ratings=F("ratings") - 1, satisfied=F("satisfied") - satisfied, score_sum=F("score_sum") - rating.score
    )
    rating.delete()


def _satisfaction_key(req: ServiceRequest, rating: ServiceRating) -> tuple[dict[str, Any], int]:
    """The aggregate row a rating counts in, and whether it counts as satisfied (1 or 0)."""
    key = {
        "date": timezone.localdate(rating.created_at),
        "item_id": req.item_id,
        "provider_key": req.assigned_org_id or 0,
        "neighborhood_id": req.neighborhood_id,
    }
    return key, 1 if rating.score >= ServiceRating.SATISFIED_FROM else 0


def _count_in_satisfaction(req: ServiceRequest, rating: ServiceRating) -> None:
    """Add one rating to its day's aggregate row, in the rating's transaction (a rolled-back
    rating never counts). Call while holding the request's row lock."""
    key, satisfied = _satisfaction_key(req, rating)
    # F() increments: two ratings of the same key committing at once both count.
    increments = {"ratings": F("ratings") + 1, "satisfied": F("satisfied") + satisfied, "score_sum": F("score_sum") + rating.score}
    if SatisfactionDaily.objects.filter(**key).update(**increments):
        return
    try:
        # A savepoint: losing the race to insert the day's first row must not spoil the rating.
        with transaction.atomic():
            SatisfactionDaily.objects.create(
                **key, provider_id=req.assigned_org_id, street_id=req.street_id, ratings=1, satisfied=satisfied,
                score_sum=rating.score,
            )
    except IntegrityError:
        # The other transaction committed the row (PostgreSQL made us wait on the unique index): add to it.
        SatisfactionDaily.objects.filter(**key).update(**increments)


def do_rebuild_satisfaction_daily() -> int:
    """Recompute the whole aggregate from the ratings (after a manual data fix, or to reconcile).
    Returns the number of rows written. Blocks ratings only for the length of one transaction."""
    with transaction.atomic():
        SatisfactionDaily.objects.all().delete()
        groups = (
            ServiceRating.objects.annotate(day=TruncDate("created_at"))
            .values("day", "request__item_id", "request__assigned_org_id", "request__neighborhood_id", "request__street_id")
            .annotate(
                n=Count("id"),
                happy=Count("id", filter=Q(score__gte=ServiceRating.SATISFIED_FROM)),
                total=Sum("score"),
            )
            .order_by()
        )
        rows = [
            SatisfactionDaily(
                date=g["day"], item_id=g["request__item_id"], provider_id=g["request__assigned_org_id"],
                provider_key=g["request__assigned_org_id"] or 0, neighborhood_id=g["request__neighborhood_id"],
                street_id=g["request__street_id"], ratings=g["n"], satisfied=g["happy"], score_sum=g["total"],
            )
            for g in groups
        ]
        SatisfactionDaily.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


REVIEWABLE_TEXT = ("note", "rating_comment")
TEXT_LABELS = {"note": "备注", "rating_comment": "评价内容"}


def do_review_service_text(request_id: int, *, actor: User, field: str, decision: str) -> ServiceRequest:
    """Staff of the region decide on a held note or rating comment: approve shows it to the
    provider too; remove keeps it from them for good. Only text still waiting can be decided
    (409 text_review_state_changed otherwise, e.g. a colleague or the late check was first)."""
    if field not in REVIEWABLE_TEXT:
        raise InvalidInput("invalid_input", "审核对象有误", field="field")
    if decision not in ("approve", "remove"):
        raise InvalidInput("invalid_input", "审核结论有误", field="decision")
    new_status = TextStatus.PUBLISHED if decision == "approve" else TextStatus.REMOVED
    with transaction.atomic():
        req = _lock(request_id)
        if not is_staff_for(actor, req.neighborhood_id):
            raise Forbidden("staff_only", "仅限居委或街道工作人员")
        if field == "note":
            target: ServiceRequest | ServiceRating | None = req
            status_field = "note_status"
        else:
            target = ServiceRating.objects.select_for_update().filter(request=req).first()
            status_field = "comment_status"
        current = getattr(target, status_field) if target is not None else None
        if current not in TextStatus.waiting():
            raise Conflict("text_review_state_changed", "该内容已处理，请刷新后重试", current=current)
        setattr(target, status_field, new_status)
        target.save(update_fields=[status_field])
        if field == "note":
            ServiceRequest.objects.filter(pk=req.pk).update(updated_at=timezone.now())
        verb = "审核通过" if decision == "approve" else "已隐藏"
        _record(
            req, actor=actor, from_status=req.status, kind=ServiceRequestEvent.Kind.TEXT_REVIEWED,
            note=f"{TEXT_LABELS[field]}{verb}", data={"field": field, "decision": decision},
        )
        publish_on_commit(f"staff.neighborhood.{req.neighborhood_id}", "service_request.updated", _board_payload(req))
    return req


def do_recheck_pending_text(*, limit: int = 100) -> dict[str, int]:
    """Ask WeChat again about notes and comments saved while it was unreachable.

    pass → published, review → pending_review, risky → removed (the request and the rating
    stay: only the text is hidden). moderation's shared sweep, limited to services' kinds: its
    UPDATE is conditional, so a staff decision made meanwhile, or a second sweep running at
    once, is never overwritten."""
    return recheck.recheck_pending(names=("services.note", "services.rating_comment"), limit=limit)


# --- deadlines ------------------------------------------------------------------------


def do_flag_overdue_requests(*, now: dt.datetime | None = None) -> int:
    """Mark each overdue open request escalated once and tell the street's officers once.

    Safe to run from several workers at once: the conditional UPDATE decides who escalates.
    """
    from services.queries import overdue_condition

    now = now or timezone.now()
    candidates = list(
        ServiceRequest.objects.filter(overdue_condition(now), escalated_at__isnull=True).values_list("pk", flat=True)[:1000]
    )
    escalated = 0
    for request_id in candidates:
        with transaction.atomic():
            won = ServiceRequest.objects.filter(pk=request_id, escalated_at__isnull=True).update(escalated_at=now)
            if not won:
                continue
            req = ServiceRequest.objects.select_related("item", "neighborhood").get(pk=request_id)
            which = "受理" if req.status in ServiceRequest.ACCEPT_PHASE else "办结"
            event = _record(
                req, actor=None, from_status=req.status, kind=ServiceRequestEvent.Kind.ESCALATED,
                note=f"超过{which}时限，已上报街道",
            )
            do_notify(
                recipients=[
                    *RoleHolders(req.street_id, Role.Kind.STREET_OFFICER).user_ids(),
                    *RoleHolders(req.neighborhood_id, Role.Kind.COMMITTEE_STAFF).user_ids(),
                ],
                kind="service_request_overdue",
                title=f"服务工单超时：{req.item.name}",
                body=f"{req.neighborhood.name}的{req.item.name}申请已超过{which}时限",
                page=_page(req.pk),
                data={
                    "service_request_id": req.pk, "service_name": req.item.name,
                    "neighborhood_name": req.neighborhood.name, "overdue_label": f"{which}超时",
                    "due_at": req.accept_due_at if which == "受理" else req.complete_due_at,
                },
                event_key=f"service_request:{req.pk}:escalated:{event.pk}",
            )
            publish_on_commit(f"staff.street.{req.street_id}", "service_request.overdue", _board_payload(req))
            publish_on_commit(f"staff.neighborhood.{req.neighborhood_id}", "service_request.overdue", _board_payload(req))
            escalated += 1
    return escalated


# --- recurring plans -------------------------------------------------------------------


def _plan_dates(frequency: str, weekdays: list[int], start: dt.date, end: dt.date) -> list[dt.date]:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    if frequency == ServicePlan.Frequency.WEEKLY:
        days = [d for d in days if d.isoweekday() in weekdays]
    return days


def _slot_time(time_slot: str) -> dt.time:
    if time_slot in SLOT_TIMES:
        return SLOT_TIMES[time_slot]
    try:
        return dt.time.fromisoformat(time_slot)
    except ValueError:
        return DEFAULT_SLOT_TIME


def _spawn_occurrences(plan: ServicePlan, dates: list[dt.date], subject_address: str, health_note: str) -> list[ServiceRequest]:
    """Create one request per date. Occurrences of a standing order skip the daily accept step:
    they go straight to the item's default provider when it serves the street, else to the
    committee's queue like any request."""
    item = plan.item
    now = timezone.now()
    tz = timezone.get_current_timezone()
    provider = item.default_provider if item.default_provider and item.default_provider.serves_street(plan.street_id) else None
    status = Status.ASSIGNED if provider else Status.SUBMITTED
    rows = []
    for day in dates:
        scheduled = dt.datetime.combine(day, _slot_time(plan.time_slot), tzinfo=tz)
        accept_due, complete_due = _due_times(item, now, scheduled)
        rows.append(
            ServiceRequest(
                item=item, requester=plan.requester, created_by=plan.requester, beneficiary=plan.beneficiary,
                beneficiary_name=plan.beneficiary.name if plan.beneficiary else plan.requester.display_name,
                neighborhood_id=plan.neighborhood_id, street_id=plan.street_id, status=status,
                filed_on_behalf=plan.filed_on_behalf, address=subject_address, health_note=health_note,
                extra=plan.extra, scheduled_for=scheduled, accept_due_at=accept_due, complete_due_at=complete_due,
                assigned_org=provider, plan=plan, occurrence_date=day,
            )
        )
    created = ServiceRequest.objects.bulk_create(rows)
    ServiceRequestEvent.objects.bulk_create(
        ServiceRequestEvent(
            request=req, kind=ServiceRequestEvent.Kind.CREATED, actor=plan.requester, from_status="",
            to_status=req.status, note=f"定期服务（{req.occurrence_date:%m月%d日}）", data={"plan": plan.pk},
        )
        for req in created
    )
    return created


def do_create_service_plan(
    *,
    actor: User,
    item: ServiceItem,
    frequency: str,
    start_date: dt.date,
    end_date: dt.date,
    weekdays: list[int] | None = None,
    time_slot: str = "",
    extra: dict[str, Any] | None = None,
    beneficiary_id: int | None = None,
) -> ServicePlan:
    if not item.allows_plan:
        raise InvalidInput("item_not_recurring", "该服务不支持定期预约", field="item")
    if end_date < start_date:
        raise InvalidInput("invalid_period", "结束日期不能早于开始日期", field="end_date")
    if start_date < timezone.localdate():
        raise InvalidInput("invalid_period", "开始日期不能早于今天", field="start_date")
    if (end_date - start_date).days + 1 > MAX_PLAN_DAYS:
        raise InvalidInput("invalid_period", f"一次最多预约{MAX_PLAN_DAYS}天", field="end_date")
    weekdays = sorted(set(weekdays or []))
    if frequency == ServicePlan.Frequency.WEEKLY and not weekdays:
        raise InvalidInput("weekdays_required", "每周服务须选择星期", field="weekdays")
    subject = _resolve_subject(actor, beneficiary_id)
    _check_eligible(actor, item, subject)
    extra = dict(extra or {})
    slot_field = field_definition(item.fields, "time_slot")
    if slot_field is not None:
        extra["time_slot"] = time_slot or extra.get("time_slot", "")
    cleaned = clean_extra(item.fields, extra)
    dates = _plan_dates(frequency, weekdays, start_date, end_date)
    if not dates:
        raise InvalidInput("invalid_period", "所选时段内没有服务日期", field="weekdays")
    with transaction.atomic():
        plan = ServicePlan.objects.create(
            item=item, requester=actor, beneficiary=subject.beneficiary, neighborhood=subject.neighborhood,
            street_id=subject.neighborhood.parent_id, frequency=frequency, weekdays=weekdays, start_date=start_date,
            end_date=end_date, time_slot=cleaned.get("time_slot", time_slot), extra=cleaned,
            filed_on_behalf=subject.filed_on_behalf,
        )
        occurrences = _spawn_occurrences(plan, dates, subject.address, subject.health_note)
        payload = {"plan_id": plan.pk, "item_id": item.pk, "occurrences": len(occurrences), "neighborhood_id": plan.neighborhood_id}
        publish_on_commit(f"staff.neighborhood.{plan.neighborhood_id}", "service_plan.created", payload)
        publish_on_commit(f"staff.street.{plan.street_id}", "service_plan.created", payload)
        do_notify(
            recipients=RoleHolders(plan.neighborhood_id, Role.Kind.COMMITTEE_STAFF),
            kind="service_request_new",
            title=f"新定期服务：{item.name}",
            body=f"{start_date:%m月%d日}至{end_date:%m月%d日}，共{len(occurrences)}次",
            page=f"pages/services/plan?id={plan.pk}",
            data={
                "service_plan_id": plan.pk, "service_name": item.name, "neighborhood_name": plan.neighborhood.name,
                "accept_due_at": min(o.accept_due_at for o in occurrences),
            },
            event_key=f"service_plan:{plan.pk}:created",
        )
    return plan


def _may_manage_plan(actor: User, plan: ServicePlan) -> bool:
    owner_id = plan.beneficiary.owner_id if plan.beneficiary_id else None
    return actor.pk in (plan.requester_id, owner_id) or is_staff_for(actor, plan.neighborhood_id)


def _stop_future_occurrences(plan: ServicePlan, actor: User, note: str, *, to: str) -> int:
    """Put on hold (`paused`) or cancel the occurrences from today on that nobody has started;
    completed ones stay. Cancelling also cancels the days a pause held."""
    stoppable = [Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.REOPENED]
    if to == Status.CANCELLED:
        stoppable.append(Status.PAUSED)
    locked = list(
        ServiceRequest.objects.select_for_update()
        .filter(plan=plan, occurrence_date__gte=timezone.localdate(), status__in=stoppable)
        .values_list("pk", "status")
    )
    if not locked:
        return 0
    ServiceRequest.objects.filter(pk__in=[pk for pk, _ in locked]).update(status=to, updated_at=timezone.now())
    ServiceRequestEvent.objects.bulk_create(
        ServiceRequestEvent(request_id=pk, actor=actor, from_status=old, to_status=to, note=note)
        for pk, old in locked
    )
    return len(locked)


def _change_plan(plan_id: int, *, actor: User, allowed_from: tuple[str, ...], to: str) -> tuple[ServicePlan, int]:
    with transaction.atomic():
        plan = ServicePlan.objects.select_for_update(of=("self",)).select_related("item", "beneficiary", "requester").get(pk=plan_id)
        if not _may_manage_plan(actor, plan):
            raise NotFound("service_plan_not_found", "定期服务不存在")
        if plan.status not in allowed_from:
            raise Conflict("plan_state_changed", "定期服务状态已变化，请刷新后重试", current=plan.status)
        changed = 0
        if to == ServicePlan.Status.PAUSED:
            changed = _stop_future_occurrences(plan, actor, "定期服务已暂停", to=Status.PAUSED)
        elif to == ServicePlan.Status.CANCELLED:
            changed = _stop_future_occurrences(plan, actor, "定期服务已取消", to=Status.CANCELLED)
        else:
            changed = _resume_occurrences(plan, actor)
        plan.status = to
        plan.save(update_fields=["status", "updated_at"])
        recipients = {plan.requester_id}
        if plan.beneficiary_id:
            recipients.add(plan.beneficiary.owner_id)
        label = ServicePlan.Status(to).label
        event = publish_on_commit(
            f"staff.neighborhood.{plan.neighborhood_id}", "service_plan.updated",
            {"plan_id": plan.pk, "status": to, "occurrences_changed": changed},
        )
        do_notify(
            recipients=recipients, kind=STATUS_KIND, title=f"定期{plan.item.name}：{label}",
            body=f"影响{changed}次服务", page=f"pages/services/plan?id={plan.pk}",
            data={"service_plan_id": plan.pk, "status": to, "service_name": plan.item.name, "status_label": label},
            event_key=f"service_plan:{plan.pk}:{event.pk}",
        )
    return plan, changed


def _resume_occurrences(plan: ServicePlan, actor: User) -> int:
    """Bring the held days from tomorrow on back (today's slot may be past: held days up to
    today are cancelled), and spawn only days that never had an occurrence. A day the family
    cancelled by itself stays cancelled, and no day ever has two rows."""
    first = max(plan.start_date, timezone.localdate() + dt.timedelta(days=1))
    provider = plan.item.default_provider if plan.item.default_provider and plan.item.default_provider.serves_street(plan.street_id) else None
    status = Status.ASSIGNED if provider else Status.SUBMITTED
    held = list(ServiceRequest.objects.select_for_update().filter(plan=plan, status=Status.PAUSED).order_by("occurrence_date"))
    now = timezone.now()
    revived, events = 0, []
    for req in held:
        to = status if req.occurrence_date >= first else Status.CANCELLED
        if to != Status.CANCELLED:
            req.accept_due_at, req.complete_due_at = _due_times(plan.item, now, req.scheduled_for)
            req.assigned_org = provider
            revived += 1
        events.append(ServiceRequestEvent(request=req, actor=actor, from_status=req.status, to_status=to,
                                          note="定期服务已恢复" if to != Status.CANCELLED else "暂停期间的服务已取消"))
        req.status, req.updated_at = to, now
    ServiceRequest.objects.bulk_update(held, ["status", "accept_due_at", "complete_due_at", "assigned_org", "updated_at"])
    ServiceRequestEvent.objects.bulk_create(events)
    if first > plan.end_date:
        return revived
    had_a_row = set(ServiceRequest.objects.filter(plan=plan).values_list("occurrence_date", flat=True))
    dates = [d for d in _plan_dates(plan.frequency, plan.weekdays, first, plan.end_date) if d not in had_a_row]
    if not dates:
        return revived
    template = plan.occurrences.order_by("-id").first()
    address = template.address if template else ""
    health = template.health_note if template else ""
    return revived + len(_spawn_occurrences(plan, dates, address, health))


def do_pause_service_plan(plan_id: int, *, actor: User) -> tuple[ServicePlan, int]:
    return _change_plan(plan_id, actor=actor, allowed_from=(ServicePlan.Status.ACTIVE,), to=ServicePlan.Status.PAUSED)


def do_resume_service_plan(plan_id: int, *, actor: User) -> tuple[ServicePlan, int]:
    return _change_plan(plan_id, actor=actor, allowed_from=(ServicePlan.Status.PAUSED,), to=ServicePlan.Status.ACTIVE)


def do_cancel_service_plan(plan_id: int, *, actor: User) -> tuple[ServicePlan, int]:
    return _change_plan(
        plan_id, actor=actor, allowed_from=(ServicePlan.Status.ACTIVE, ServicePlan.Status.PAUSED), to=ServicePlan.Status.CANCELLED
    )




# --- privacy ---------------------------------------------------------------------------


def do_log_sensitive_view(*, viewer: User, request: ServiceRequest, screen: str) -> None:
    """Record that staff or a provider saw this request's address / health notes in full."""
    from residents.models import SensitiveAccessLog

    subject_user_id = request.beneficiary.owner_id if request.beneficiary_id else request.requester_id
    SensitiveAccessLog.objects.bulk_create(
        SensitiveAccessLog(
            viewer=viewer, subject_user_id=subject_user_id, subject_label=f"service_request:{request.pk}",
            field=field, screen=screen[:100],
        )
        for field, value in (("address", request.address), ("health_note", request.health_note))
        if value
    )
