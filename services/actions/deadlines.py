"""What a request past its accept or complete deadline sets off. The deadline itself is its
case's (`Case.due_at`, kept by services/actions/case_mirror.py) and the sweep is the engine's
(`cases.tasks.escalate_overdue_cases`); services registers `tell_request_overdue` as the
`service_request` kind's `on_overdue` (services/apps.py), so the officers and the committee get
the service notice they always got, once per round (`escalated_at`, cleared by a reopen)."""

from __future__ import annotations

from django.utils import timezone

from cases.models import Case, CaseEvent
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from notifications.realtime import publish_on_commit
from residents.models import Role
from services.actions.common import board_payload, record_event, request_page
from services.models import ServiceRequest, ServiceRequestEvent


def tell_request_overdue(case: Case, event: CaseEvent, which: str) -> None:
    """Called by the engine's sweep holding the case's row lock, in its transaction: mark the
    request escalated and tell the street's officers and the neighborhood's committee staff,
    unless this round was already escalated (its accept deadline; the case escalates again on
    its completion deadline, the request does not)."""
    now = timezone.now()
    won = ServiceRequest.objects.filter(case=case, escalated_at__isnull=True).update(escalated_at=now)
    if not won:
        return
    req = ServiceRequest.objects.select_related("item", "neighborhood").get(case=case)
    timeline = record_event(
        req, actor=None, from_status=req.status, kind=ServiceRequestEvent.Kind.ESCALATED, note=f"超过{which}时限，已上报街道",
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
        event_key=f"service_request:{req.pk}:escalated:{timeline.pk}",
    )
    publish_on_commit(f"staff.street.{req.street_id}", "service_request.overdue", board_payload(req))
    publish_on_commit(f"staff.neighborhood.{req.neighborhood_id}", "service_request.overdue", board_payload(req))
