"""Moving a request along `ServiceRequest.TRANSITIONS`, with what happens after each move as data."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import Forbidden, InvalidInput
from core.images import validate_image_ids
from notifications.actions import do_notify
from residents.models import Role, User
from services.access import may_act_as
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
        req = lock_request(request_id)
        if expected_status is not None and expected_status != req.status:
            raise state_changed(req)
        role = req.actor_for(to)
        behalf_role = ServiceRequest.ON_BEHALF.get((req.status, to))
        on_behalf = False
        if role is None and behalf_role is None:
            raise state_changed(req)
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
                withdraw_rating(req)
            # A fresh round with fresh deadlines; it may escalate again if it is late again.
            req.accept_due_at, req.complete_due_at = due_times(req.item, now, None)
            req.escalated_at = None
            fields += ["accept_due_at", "complete_due_at", "escalated_at"]
        if on_behalf:
            data = {**data, "on_behalf": True}
        req.status = to
        req.save(update_fields=fields)
        event = record_event(req, actor=actor, from_status=from_status, note=(reason or note)[:500], data=data)
        if photos:
            ServiceRequestPhoto.objects.bulk_create(
                ServiceRequestPhoto(request=req, event=event, image_id=image_id, position=i) for i, image_id in enumerate(photos)
            )
        announce_status(req, event)
        if to == Status.ASSIGNED:
            _notify_assignee(req, event)
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
