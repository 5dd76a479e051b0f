"""Moving a request along `ServiceRequest.TRANSITIONS`, with what happens after each move as data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import Forbidden, InvalidInput
from images.pipeline import validate_image_ids
from notifications.actions import do_notify
from residents.models import Role, User
from services.access import may_act_as
from services.actions.case_mirror import follow_request
from services.actions.common import (
    Status,
    announce_status,
    due_times,
    lock_request,
    record_event,
    request_page,
    state_changed,
)
from services.actions.ratings import withdraw_rating
from services.models import ProviderOrganization, ServiceRequest, ServiceRequestEvent, ServiceRequestPhoto


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


@dataclass
class Move:
    """One move in progress, under the request's row lock: what the caller asked for, and what the
    table's steps add to the save (`fields`) and to the timeline row (`data`)."""

    req: ServiceRequest
    actor: User
    from_status: str
    to: str
    now: dt.datetime
    note: str
    reason: str
    assignee_org_id: int | None
    assignee_user_id: int | None
    photos: list[int]
    fields: list[str] = field(default_factory=lambda: ["status", "updated_at"])
    data: dict[str, Any] = field(default_factory=dict)


# --- what a move writes on the request, by target status (validation under the lock first) ---


def _set_reject_reason(move: Move) -> None:
    if not move.reason.strip():
        raise InvalidInput("reason_required", "驳回须填写原因", field="reason")
    move.req.reject_reason = move.reason.strip()[:200]
    move.fields.append("reject_reason")


def _set_assignee(move: Move) -> None:
    org, volunteer = _resolve_assignee(move.req, move.assignee_org_id, move.assignee_user_id)
    move.req.assigned_org, move.req.assigned_user = org, volunteer
    move.fields += ["assigned_org", "assigned_user"]
    move.data = {"assignee_org": org.pk if org else None, "assignee_user": volunteer.pk if volunteer else None}


def _set_completion(move: Move) -> None:
    # The same rules as a post's pictures: the actor's own uploads, not rejected, at most 9.
    validate_image_ids(move.actor, move.photos, limit=ServiceRequestPhoto.MAX_PER_COMPLETION)
    move.req.completed_at = move.now
    move.req.completion_note = move.note[:500]
    move.fields += ["completed_at", "completion_note"]


def _reopen(move: Move) -> None:
    req = move.req
    if req.completed_at is None or move.now - req.completed_at > ServiceRequest.REOPEN_WINDOW:
        raise Forbidden("reopen_window_passed", "完成超过7天的工单不能重新打开")
    if move.from_status == Status.RATED:
        withdraw_rating(req)
    # A fresh round with fresh deadlines; it may escalate again if it is late again.
    req.accept_due_at, req.complete_due_at = due_times(req.item, move.now, None)
    req.escalated_at = None
    move.fields += ["accept_due_at", "complete_due_at", "escalated_at"]


WRITES: dict[str, Callable[[Move], None]] = {
    Status.REJECTED: _set_reject_reason,
    Status.ASSIGNED: _set_assignee,
    Status.COMPLETED: _set_completion,
    Status.REOPENED: _reopen,
}


# --- what happens after the move is saved, by target status (in the move's transaction) ---


def _attach_photos(move: Move, event: ServiceRequestEvent) -> None:
    if move.photos:
        ServiceRequestPhoto.objects.bulk_create(
            ServiceRequestPhoto(request=move.req, event=event, image_id=image_id, position=i)
            for i, image_id in enumerate(move.photos)
        )


def _announce(move: Move, event: ServiceRequestEvent) -> None:
    """The requester and family are told, the dispatch board redraws (every move)."""
    announce_status(move.req, event)


def _tell_assignee(move: Move, event: ServiceRequestEvent) -> None:
    _notify_assignee(move.req, event)


Effect = Callable[[Move, ServiceRequestEvent], None]
DEFAULT_EFFECTS: tuple[Effect, ...] = (_announce,)
EFFECTS: dict[str, tuple[Effect, ...]] = {
    Status.COMPLETED: (_attach_photos, _announce),
    Status.ASSIGNED: (_announce, _tell_assignee),
}


def _authorize(req: ServiceRequest, actor: User, to: str, note: str) -> bool:
    """Whether the actor may make this move from where the request is now; True when they make it
    on the elder's behalf (ServiceRequest.ON_BEHALF), which needs a note saying how they confirmed."""
    role = req.actor_for(to)
    behalf_role = ServiceRequest.ON_BEHALF.get((req.status, to))
    if role is None and behalf_role is None:
        raise state_changed(req)
    if role is not None and may_act_as(actor, req, role):
        return False
    if behalf_role is None or not may_act_as(actor, req, behalf_role):
        raise Forbidden("transition_not_allowed", "您不能执行此操作", to=to, current=req.status)
    if not note.strip():
        raise InvalidInput("note_required", "代为确认完成须说明确认方式（如：电话确认）", field="note")
    return True


def check_transition_service_request(*, to: str, photos: list[int]) -> None:
    """What can be refused before any row is read or locked."""
    if to == Status.RATED:
        raise InvalidInput("use_rating_endpoint", "请通过评价接口完成评价", field="to")
    if photos and to != Status.COMPLETED:
        raise InvalidInput("photos_not_allowed", "只有完成服务时可以上传照片", field="photos")


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
    """Move a request along the table: check, lock, authorize, write (WRITES), save, record the
    timeline row, let its case follow (case_mirror), then run the move's EFFECTS. Raises Conflict(request_state_changed) when the
    request is no longer where the caller saw it (or where the move starts), Forbidden when the
    move is not the caller's to make. `photos` (image ids the acting provider uploaded) go only
    with `completed`."""
    photos = list(photos or [])
    check_transition_service_request(to=to, photos=photos)
    with transaction.atomic():
        req = lock_request(request_id)
        if expected_status is not None and expected_status != req.status:
            raise state_changed(req)
        on_behalf = _authorize(req, actor, to, note)
        move = Move(
            req=req, actor=actor, from_status=req.status, to=to, now=timezone.now(), note=note, reason=reason,
            assignee_org_id=assignee_org_id, assignee_user_id=assignee_user_id, photos=photos,
        )
        if to in WRITES:
            WRITES[to](move)
        if on_behalf:
            move.data = {**move.data, "on_behalf": True}
        req.status = to
        req.save(update_fields=move.fields)
        event = record_event(req, actor=actor, from_status=move.from_status, note=(reason or note)[:500], data=move.data)
        follow_request(req, actor=actor, from_status=move.from_status, reason=event.note)
        for effect in EFFECTS.get(to, DEFAULT_EFFECTS):
            effect(move, event)
    return req


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
        page=request_page(req.pk),
        # The neighborhood, never the address: the push and its outbox row stay free of personal values.
        data={
            "service_request_id": req.pk, "service_name": req.item.name, "neighborhood_name": req.neighborhood.name,
            "complete_due_at": req.complete_due_at,
        },
        event_key=f"service_request:{req.pk}:{event.pk}:assignee",
    )
