"""One-tap create: `check_create_service_request` (validation and the content check, before any
transaction), then `do_create_service_request` writes in its own transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from cases.models import CaseEvent
from core.errors import InvalidInput
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from residents.access import is_staff_for
from residents.models import Role, User
from services.actions.beneficiaries import check_eligible, resolve_subject
from services.actions.case_mirror import open_request_cases, opened_frames
from services.actions.common import board_payload, check_resident_text, due_times, request_page, schedule_text_recheck
from services.extra import clean_extra, unanswered, with_fallbacks
from services.models import ServiceItem, ServiceRequest, ServiceRequestEvent, TextStatus


def _announce_created(req: ServiceRequest, item: ServiceItem, case_opened: CaseEvent) -> None:
    payload = board_payload(req)
    do_notify(
        # Read inside the inbox INSERT on PostgreSQL (notifications.inbox_sql): no query of its own.
        recipients=RoleHolders(req.neighborhood_id, Role.Kind.COMMITTEE_STAFF),
        kind="service_request_new",
        title=f"新服务申请：{item.name}",
        body=f"{req.beneficiary_name or '居民'}申请{item.name}，请在受理时限内处理",
        page=request_page(req.pk),
        # What the staff's push shows (notifications/demo.py); no address or health note (an outbox row keeps it).
        data={
            "service_request_id": req.pk, "service_name": item.name, "neighborhood_name": req.neighborhood.name,
            "accept_due_at": req.accept_due_at,
        },
        event_key=f"service_request:{req.pk}:created",
        fresh=True,  # the request was made a moment ago in this transaction
        # The dispatch board's two events go in the same INSERT as the staff's inbox events.
        # So do the engine's case.created frames (cases.realtime), as a new matter sends them.
        also_publish=[
            (f"staff.neighborhood.{req.neighborhood_id}", "service_request.created", payload),
            (f"staff.street.{req.street_id}", "service_request.created", payload),
            *opened_frames(req, case_opened),
        ],
    )


@dataclass(frozen=True)
class CheckedServiceRequest:
    """A one-tap request that passed every check (the content check of its note included),
    not saved yet: what `check_create_service_request` hands to `do_create_service_request`."""

    actor: User
    request: ServiceRequest


def check_create_service_request(
    *,
    actor: User,
    item: ServiceItem,
    beneficiary_id: int | None = None,
    scheduled_for: dt.datetime | None = None,
    note: str = "",
    extra: dict[str, Any] | None = None,
    health_note: str | None = None,
) -> CheckedServiceRequest:
    """One tap: everything not given comes from the requester's membership and default elder.
    Validation and WeChat's check of a typed note; reads only, so call it outside any transaction."""
    subject = resolve_subject(actor, beneficiary_id)
    check_eligible(actor, item, subject)
    now = timezone.now()
    answers = with_fallbacks(item.fields, extra or {}, last=_last_answers(actor, item, extra), now=now)
    cleaned = clean_extra(item.fields, answers, require_all=False)
    if scheduled_for is not None and scheduled_for < now - dt.timedelta(minutes=5):
        raise InvalidInput("scheduled_in_past", "预约时间不能早于现在", field="scheduled_for")
    accept_due_at, complete_due_at = due_times(item, now, scheduled_for)
    note_status = check_resident_text(actor, note, typed_by_staff=is_staff_for(actor, subject.neighborhood.pk))
    request = ServiceRequest(
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
    return CheckedServiceRequest(actor=actor, request=request)


def do_create_service_request(checked: CheckedServiceRequest) -> ServiceRequest:
    """Write the checked request, its case on the engine, their timeline rows and the staff's
    notice in one transaction."""
    req, actor = checked.request, checked.actor
    # No savepoint inside the caller's transaction (the one-tap view's): nothing here is caught
    # and retried, so a failure rolls back everything either way, and two round trips are saved.
    with transaction.atomic(savepoint=False):
        note = "居委代为申请" if req.filed_on_behalf else ""
        created = ServiceRequestEvent(
            kind=ServiceRequestEvent.Kind.CREATED, actor=actor, from_status="", to_status=req.status, note=note,
        )
        [case_opened] = open_request_cases([req], neighborhood=req.neighborhood, actor=actor, notes=[note])
        req.save(force_insert=True)
        created.request = req
        created.save(force_insert=True)
        _announce_created(req, req.item, case_opened)
        if req.note_status == TextStatus.PENDING_CHECK:
            schedule_text_recheck()
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
