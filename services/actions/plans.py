"""Recurring services (定期服务): a plan spawns one request per date; pause, resume, cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from notifications.realtime import publish_on_commit
from residents.access import is_staff_for
from residents.models import Role, User
from services.actions.beneficiaries import check_eligible, resolve_subject
from services.actions.case_mirror import follow_bulk, lock_cases_of, open_request_cases
from services.actions.common import STATUS_KIND, Status, due_times
from services.extra import clean_extra, field_definition
from services.models import ServiceItem, ServicePlan, ServiceRequest, ServiceRequestEvent

# When a recurring meal (or visit) is due, by the slot the resident chose.
SLOT_TIMES = {"早餐": dt.time(7, 30), "午餐": dt.time(11, 30), "晚餐": dt.time(17, 30)}


DEFAULT_SLOT_TIME = dt.time(9, 0)


MAX_PLAN_DAYS = 92


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
        accept_due, complete_due = due_times(item, now, scheduled)
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
    notes = [f"定期服务（{req.occurrence_date:%m月%d日}）" for req in rows]
    open_request_cases(rows, neighborhood=plan.neighborhood, actor=plan.requester, notes=notes)
    created = ServiceRequest.objects.bulk_create(rows)
    ServiceRequestEvent.objects.bulk_create(
        ServiceRequestEvent(
            request=req, kind=ServiceRequestEvent.Kind.CREATED, actor=plan.requester, from_status="",
            to_status=req.status, note=note, data={"plan": plan.pk},
        )
        for req, note in zip(created, notes, strict=True)
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
    subject = resolve_subject(actor, beneficiary_id)
    check_eligible(actor, item, subject)
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
    stopping = ServiceRequest.objects.filter(plan=plan, occurrence_date__gte=timezone.localdate(), status__in=stoppable)
    lock_cases_of(stopping)
    locked = list(stopping.select_for_update().only("pk", "status", "case_id", "accept_due_at", "complete_due_at", "reject_reason"))
    if not locked:
        return 0
    olds = [req.status for req in locked]
    ServiceRequest.objects.filter(pk__in=[req.pk for req in locked]).update(status=to, updated_at=timezone.now())
    ServiceRequestEvent.objects.bulk_create(
        ServiceRequestEvent(request_id=req.pk, actor=actor, from_status=old, to_status=to, note=note)
        for req, old in zip(locked, olds, strict=True)
    )
    for req in locked:
        req.status = to
    follow_bulk(locked, actor=actor, from_statuses=olds, reasons=[note] * len(locked))
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
    lock_cases_of(ServiceRequest.objects.filter(plan=plan, status=Status.PAUSED))
    held = list(ServiceRequest.objects.select_for_update().filter(plan=plan, status=Status.PAUSED).order_by("occurrence_date"))
    olds = [req.status for req in held]
    now = timezone.now()
    revived, events = 0, []
    for req in held:
        to = status if req.occurrence_date >= first else Status.CANCELLED
        if to != Status.CANCELLED:
            req.accept_due_at, req.complete_due_at = due_times(plan.item, now, req.scheduled_for)
            req.assigned_org = provider
            revived += 1
        events.append(ServiceRequestEvent(request=req, actor=actor, from_status=req.status, to_status=to,
                                          note="定期服务已恢复" if to != Status.CANCELLED else "暂停期间的服务已取消"))
        req.status, req.updated_at = to, now
    ServiceRequest.objects.bulk_update(held, ["status", "accept_due_at", "complete_due_at", "assigned_org", "updated_at"])
    ServiceRequestEvent.objects.bulk_create(events)
    follow_bulk(held, actor=actor, from_statuses=olds, reasons=[event.note for event in events])
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
