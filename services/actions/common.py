"""Helpers every services action shares: the row lock, the timeline row, what the
dispatch board and the requester hear about a change, and the resident-text content check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import Conflict, NotFound
from core.times import api_datetime
from moderation.content import SCENE_COMMENT, check_text, schedule_recheck
from notifications.actions import do_notify
from notifications.realtime import publish_on_commit
from residents.models import User
from services.actions.case_mirror import lock_case_of
from services.models import ServiceItem, ServiceRequest, ServiceRequestEvent, TextStatus

Status = ServiceRequest.Status


STATUS_KIND = "service_request_status"


def request_page(request_id: int) -> str:
    return f"pages/services/detail?id={request_id}"


def lock_request(request_id: int) -> ServiceRequest:
    """Call inside a transaction. The lock serialises two people moving the same request. The
    request's case is locked first, in the order the engine's escalation sweep takes them."""
    lock_case_of(request_id)
    try:
        return ServiceRequest.objects.select_for_update(of=("self",)).select_related("item", "beneficiary", "neighborhood").get(pk=request_id)
    except ServiceRequest.DoesNotExist:
        raise NotFound("service_request_not_found", "服务工单不存在") from None


def state_changed(req: ServiceRequest) -> Conflict:
    return Conflict("request_state_changed", "工单状态已变化，请刷新后重试", current=req.status)


def record_event(
    req: ServiceRequest, *, actor: User | None, from_status: str, kind: str = ServiceRequestEvent.Kind.TRANSITION,
    note: str = "", data: dict | None = None,
) -> ServiceRequestEvent:
    return ServiceRequestEvent.objects.create(
        request=req, kind=kind, actor=actor, from_status=from_status, to_status=req.status, note=note, data=data or {}
    )


def board_payload(req: ServiceRequest) -> dict[str, Any]:
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


def announce_status(req: ServiceRequest, event: ServiceRequestEvent) -> None:
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
        page=request_page(req.pk),
        data={
            "service_request_id": req.pk, "status": req.status, "event_id": event.pk,
            "service_name": req.item.name, "status_label": label,
        },
        event_key=f"service_request:{req.pk}:{event.pk}",
    )
    payload = {"id": req.pk, "status": req.status, "event_id": event.pk}
    publish_on_commit(f"user.{req.requester_id}", "service_request.status_changed", payload)
    board = board_payload(req)
    publish_on_commit(f"staff.neighborhood.{req.neighborhood_id}", "service_request.updated", board)
    # Street officers watch the street's stream: their board and counts change too.
    publish_on_commit(f"staff.street.{req.street_id}", "service_request.updated", board)


def due_times(item: ServiceItem, now: dt.datetime, scheduled_for: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    start = scheduled_for if scheduled_for and scheduled_for > now else now
    return now + item.accept_within, start + item.complete_within


def check_resident_text(actor: User, text: str, *, typed_by_staff: bool = False) -> str:
    """The TextStatus a resident's note or comment is born with (moderation.content: msgSecCheck v2).

    risky → InvalidInput content_rejected (the caller saves nothing); review → pending_review;
    WeChat unreachable → pending_check, and the request is accepted anyway: an elder's request
    must never be lost to a content check. Staff of the region are the reviewers, so their own
    text is not sent. Call outside any transaction: a network call must not hold row locks."""
    if typed_by_staff or not text.strip():
        return TextStatus.PUBLISHED
    return check_text(user=actor, content=text, scene=SCENE_COMMENT).status


def schedule_text_recheck() -> None:
    from moderation.tasks import recheck_pending_content

    schedule_recheck(recheck_pending_content, delay_setting="SERVICES_TEXT_RECHECK_DELAY_SECONDS")
