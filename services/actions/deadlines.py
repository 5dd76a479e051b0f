"""Escalating requests past their accept or complete deadline."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from notifications.realtime import publish_on_commit
from residents.models import Role
from services.actions.common import board_payload, record_event, request_page
from services.models import ServiceRequest, ServiceRequestEvent


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
            event = record_event(
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
                page=request_page(req.pk),
                data={
                    "service_request_id": req.pk, "service_name": req.item.name,
                    "neighborhood_name": req.neighborhood.name, "overdue_label": f"{which}超时",
                    "due_at": req.accept_due_at if which == "受理" else req.complete_due_at,
                },
                event_key=f"service_request:{req.pk}:escalated:{event.pk}",
            )
            publish_on_commit(f"staff.street.{req.street_id}", "service_request.overdue", board_payload(req))
            publish_on_commit(f"staff.neighborhood.{req.neighborhood_id}", "service_request.overdue", board_payload(req))
            escalated += 1
    return escalated
