"""The call-back a low rating asks staff for."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, Forbidden, InvalidInput
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from residents.models import Role, User
from services.access import may_act_as
from services.actions.common import lock_request, record_event, request_page
from services.models import ServiceRating, ServiceRequest, ServiceRequestEvent


def open_follow_up(req: ServiceRequest, *, actor: User, score: int) -> None:
    """A low score is a call for help: staff call the family back before the deadline.
    Call inside the rating's transaction, holding the request's row lock."""
    req.follow_up_due_at = timezone.now() + ServiceRating.FOLLOW_UP_WITHIN
    req.followed_up_at = None
    req.save(update_fields=["follow_up_due_at", "followed_up_at"])
    event = record_event(
        req, actor=None, from_status=req.status, kind=ServiceRequestEvent.Kind.FOLLOW_UP_OPENED,
        data={"score": score, "due_at": req.follow_up_due_at.isoformat()},
    )
    hours = int(ServiceRating.FOLLOW_UP_WITHIN.total_seconds() // 3600)
    do_notify(
        recipients=RoleHolders(req.neighborhood_id, Role.Kind.COMMITTEE_STAFF),
        kind="service_request_low_rating",
        title=f"低分待回访：{req.item.name}",
        body=f"{req.beneficiary_name or '居民'}的服务评为{score}星，请在{hours}小时内回访",
        page=request_page(req.pk),
        data={"service_request_id": req.pk, "score": score},
        event_key=f"service_request:{req.pk}:{event.pk}:follow_up",
    )


def do_follow_up_service_request(request_id: int, *, actor: User, note: str) -> ServiceRequest:
    """Staff record the call-back a low rating asked for."""
    note = note.strip()
    if not note:
        raise InvalidInput("note_required", "请填写回访情况", field="note")
    with transaction.atomic():
        req = lock_request(request_id)
        if not may_act_as(actor, req, ServiceRequest.Actor.STAFF):
            raise Forbidden("transition_not_allowed", "只有居委或街道工作人员可以登记回访")
        if req.follow_up_due_at is None or req.followed_up_at is not None:
            raise Conflict("no_follow_up_open", "这条工单没有待回访的低分评价", current=req.status)
        req.followed_up_at = timezone.now()
        req.save(update_fields=["followed_up_at", "updated_at"])
        record_event(req, actor=actor, from_status=req.status, kind=ServiceRequestEvent.Kind.FOLLOWED_UP, note=note[:500])
    return req
