"""The alarm rule (docs/sensors.md, Rules): an alarm from a 烟感, 燃气 or 紧急按钮 opens an urgent
`sensor_alert` case on the engine for the neighborhood's committee unit, with minute deadlines
(SENSOR_ALARM_ACCEPT_MINUTES / SENSOR_ALARM_RESOLVE_MINUTES) that the engine's escalation job
(every minute) enforces, and the unit's members told at once (cases.actions.do_announce_case,
once the alert row exists), and the 楼组长 of the device's building group too
(sensors.actions.leaders).

One open case per device and rule: the device row is locked while its alert is looked up, and a
partial unique constraint (`sensor_case_one_open`) backs it, so a flapping sensor or two pushes
at once add readings to the open case's timeline instead of opening more. Staff close an alert
with an outcome (`do_close_sensor_case`); "误报" feeds the per-device false-alarm rate
(sensors.queries.false_alarm_rates).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.access import acts_for_unit
from cases.actions import do_accept_case, do_announce_case, do_open_case, do_record_case_reading, do_resolve_case
from cases.models import Case
from cases.units import committee_unit
from core.errors import Conflict, Forbidden, NotFound
from residents.models import User
from sensors.actions.leaders import tell_building_leaders
from sensors.models import Device, SensorCase, SensorEvent

CASE_KIND = "sensor_alert"
ALARM_KINDS = frozenset({Device.Kind.SMOKE, Device.Kind.GAS, Device.Kind.PANIC})
# A case the unit has not answered yet; once answered (resolved) a new alarm is a new incident.
UNANSWERED = frozenset({Case.Status.SUBMITTED, Case.Status.ACCEPTED, Case.Status.REOPENED})


def alert_title(device: Device) -> str:
    """The case's title in lists and pushes; also its `submitted` note on the timeline."""
    return f"{device.get_kind_display()}报警：{device.where}"


def reading_note(device: Device, event: SensorEvent) -> str:
    at = timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S")
    value = "" if event.value is None else f"，读数 {event.value}"
    return f"{device.get_kind_display()}{event.get_type_display()}（{at}{value}，事件 {event.vendor_event_id}）"


def do_raise_alarms(events_by_device: dict[int, list[SensorEvent]]) -> list[SensorCase]:
    """Called inside the ingest transaction with the newly stored alarm events per device."""
    touched = []
    with transaction.atomic():
        devices = (
            # id order: two pushes cannot deadlock; NO KEY: the events' foreign-key checks pass it (ingest._lock_devices)
            Device.objects.select_for_update(of=("self",), no_key=True).select_related("region", "place")
            .filter(pk__in=sorted(events_by_device)).order_by("pk")
        )
        for device in devices:
            events = sorted(events_by_device[device.pk], key=lambda e: (e.occurred_at, e.vendor_event_id))
            alert = SensorCase.objects.select_related("case").filter(device=device, rule=SensorCase.Rule.ALARM, is_open=True).first()
            if alert is not None and alert.case.status not in UNANSWERED:
                _close(alert, outcome="")  # answered elsewhere: the next alarm is a new incident
                alert = None
            if alert is None:
                case = do_open_case(
                    actor=None, kind=CASE_KIND, unit=committee_unit(device.region), neighborhood=device.region,
                    accept_hours=1, resolve_hours=1, reporter=None, note=alert_title(device),
                    accept_minutes=settings.SENSOR_ALARM_ACCEPT_MINUTES, resolve_minutes=settings.SENSOR_ALARM_RESOLVE_MINUTES,
                )
                alert = SensorCase.objects.create(device=device, rule=SensorCase.Rule.ALARM, case=case, alarm_count=len(events))
                do_announce_case(case)  # the unit's push and frame, now that the alert row names the case
                tell_building_leaders(alert, device, title=alert_title(device))
            else:
                alert.alarm_count += len(events)
                alert.save(update_fields=["alarm_count"])
            for event in events:
                do_record_case_reading(alert.case_id, reason=reading_note(device, event))
            if device.state != Device.State.ALARM:
                device.state = Device.State.ALARM
                device.save(update_fields=["state"])
            touched.append(alert)
    return touched


def _close(alert: SensorCase, *, outcome: str) -> None:
    alert.is_open, alert.outcome, alert.closed_at = False, outcome, timezone.now()
    alert.save(update_fields=["is_open", "outcome", "closed_at"])


def do_close_sensor_case(case_id: int, *, actor: User, false_alarm: bool, answer: str = "") -> SensorCase:
    """Staff of the neighborhood (or the unit) answer an alert: the case is accepted if it was
    not yet, then resolved with the answer; the outcome (误报 or 确有警情) is kept for the rates."""
    answer = answer.strip() or ("经核实为误报" if false_alarm else "已到场处置")
    if not 0 < case_id < 2**63:
        raise NotFound("sensor_case_not_found", "告警不存在")
    with transaction.atomic():
        alert = SensorCase.objects.select_for_update(of=("self",)).select_related("case", "device").filter(case_id=case_id).first()
        if alert is None:
            raise NotFound("sensor_case_not_found", "告警不存在")
        if not acts_for_unit(actor, alert.case):
            raise Forbidden("not_responsible_unit", "只有责任单位或本辖区工作人员可以处置告警")
        if not alert.is_open:
            raise Conflict("sensor_case_closed", "告警已处置", outcome=alert.outcome)
        if alert.case.status in Case.ACCEPT_PHASE:
            do_accept_case(case_id, actor=actor)
        do_resolve_case(case_id, actor=actor, answer=answer)
        _close(alert, outcome=SensorCase.Outcome.FALSE_ALARM if false_alarm else SensorCase.Outcome.REAL)
        device = alert.device
        if device.state == Device.State.ALARM and not SensorCase.objects.filter(device=device, is_open=True).exists():
            device.state = Device.State.NORMAL
            device.save(update_fields=["state"])
    return alert
