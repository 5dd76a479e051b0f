"""The periodic rules (docs/sensors.md, The periodic rules), run by the scheduler (sensors.tasks):

- **inactivity**: a lone elder's home whose 红外人体 and 门磁 devices reported no reading and no
  alarm for N daytime hours (`HomeConsent.inactivity_hours`, else SENSOR_INACTIVITY_HOURS; the
  quiet hours SENSOR_QUIET_HOURS, 22:00-07:00 by default, do not count) → a 上门探视 case;
- **heartbeat**: a device silent past its heartbeat timeout (its own, else
  SENSOR_HEARTBEAT_TIMEOUT_MINUTES; sensors.heartbeat) → a maintenance case;
- **battery**: a device whose last reported battery is below SENSOR_BATTERY_LOW_PERCENT → a
  maintenance case.

Each is a `sensor_alert` case on the engine for the neighborhood's committee unit with the rule on
its `SensorCase` row: one open per device and rule (the device row is locked while it is looked
up; the partial unique constraint `sensor_case_one_open` backs it). An inactivity case sits on
the home's first motion/door device, and a home has at most one open. Once a case is answered
the same incident does not open another: the clock starts again from the case (no activity since
the last visit), from the last heartbeat after the case, from a battery report after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cases.actions import do_announce_case, do_open_case, do_record_case_reading
from cases.units import committee_unit
from sensors import heartbeat
from sensors.actions.alarms import CASE_KIND, UNANSWERED, alert_title
from sensors.actions.leaders import tell_building_leaders
from sensors.models import Device, HomeConsent, SensorCase, SensorEvent

ACTIVITY_KINDS = (Device.Kind.INFRARED, Device.Kind.DOOR)
ACTIVITY_TYPES = (SensorEvent.Type.READING, SensorEvent.Type.ALARM)


@dataclass(frozen=True)
class QuietHours:
    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        begin, _, finish = text.partition("-")
        return cls(dt.time.fromisoformat(begin.strip()), dt.time.fromisoformat(finish.strip()))

    def quiet_spans(self, day: dt.date, tz) -> list[tuple[dt.datetime, dt.datetime]]:
        """The quiet stretches touching local `day` (one wraps past midnight when start > end)."""
        at = lambda d, t: dt.datetime.combine(d, t, tzinfo=tz)  # noqa: E731
        if self.start <= self.end:
            return [(at(day, self.start), at(day, self.end))]
        return [(at(day - dt.timedelta(days=1), self.start), at(day, self.end)),
                (at(day, self.start), at(day + dt.timedelta(days=1), self.end))]


def daytime_hours(start: dt.datetime, end: dt.datetime, quiet: QuietHours | None = None) -> float:
    """Hours between start and end that fall outside the quiet hours (local time)."""
    if end <= start:
        return 0.0
    quiet = quiet or QuietHours.parse(settings.SENSOR_QUIET_HOURS)
    tz = timezone.get_current_timezone()
    total = (end - start).total_seconds()
    day = timezone.localtime(start, tz).date() - dt.timedelta(days=1)
    last = timezone.localtime(end, tz).date() + dt.timedelta(days=1)
    spans = set()
    while day <= last:
        spans.update(quiet.quiet_spans(day, tz))
        day += dt.timedelta(days=1)
    for q_start, q_end in spans:
        overlap = (min(end, q_end) - max(start, q_start)).total_seconds()
        if overlap > 0:
            total -= overlap
    return max(total, 0.0) / 3600


def rule_title(device: Device, rule: str) -> str:
    """The case's title for a rule (its `submitted` note too); no name or address of an elder."""
    if rule == SensorCase.Rule.INACTIVITY:
        return "上门探视：老人住所长时间无活动"
    if rule == SensorCase.Rule.HEARTBEAT:
        return f"设备离线：{device.get_kind_display()}（{device.where}）"
    if rule == SensorCase.Rule.BATTERY:
        return f"设备电量低：{device.get_kind_display()}（{device.where}）"
    return alert_title(device)


def _open(device: Device, rule: str, *, accept_hours: int, resolve_hours: int, reading: str) -> SensorCase | None:
    """Open the rule's case for a locked device unless one is open; an answered one is closed first."""
    alert = SensorCase.objects.select_related("case").filter(device=device, rule=rule, is_open=True).first()
    if alert is not None:
        if alert.case.status in UNANSWERED:
            return None
        alert.is_open, alert.closed_at = False, timezone.now()
        alert.save(update_fields=["is_open", "closed_at"])
    case = do_open_case(
        actor=None, kind=CASE_KIND, unit=committee_unit(device.region), neighborhood=device.region,
        accept_hours=accept_hours, resolve_hours=resolve_hours, reporter=None, note=rule_title(device, rule),
    )
    alert = SensorCase.objects.create(device=device, rule=rule, case=case)
    do_record_case_reading(case.pk, reason=reading)
    do_announce_case(case)
    tell_building_leaders(alert, device, title=rule_title(device, rule))  # a 上门探视 only: sensors.actions.leaders
    return alert


def _locked_device(pk: int) -> Device | None:
    # NO KEY: an ingest batch's foreign-key checks on its events pass it (sensors.actions.ingest._lock_devices).
    return (Device.objects.select_for_update(of=("self",), no_key=True).select_related("region", "place")
            .exclude(state=Device.State.RETIRED).filter(pk=pk).first())


def do_check_inactivity(*, now: dt.datetime | None = None) -> int:
    """Open a 上门探视 case for each consented home without activity for its daytime hours."""
    now = now or timezone.now()
    quiet = QuietHours.parse(settings.SENSOR_QUIET_HOURS)
    consents = {c.beneficiary_id: c for c in HomeConsent.objects.filter(withdrawn_at__isnull=True)}
    devices: dict[int, list[Device]] = {}
    for device in (Device.objects.filter(home_id__in=consents, kind__in=ACTIVITY_KINDS)
                   .exclude(state=Device.State.RETIRED).order_by("pk")):
        devices.setdefault(device.home_id, []).append(device)
    last_activity = dict(
        SensorEvent.objects.filter(device__home_id__in=devices, device__kind__in=ACTIVITY_KINDS, type__in=ACTIVITY_TYPES)
        .values("device__home_id").annotate(at=Max("occurred_at")).values_list("device__home_id", "at")
    )
    last_case = dict(
        SensorCase.objects.filter(device__home_id__in=devices, rule=SensorCase.Rule.INACTIVITY)
        .values("device__home_id").annotate(at=Max("created_at")).values_list("device__home_id", "at")
    )
    opened = 0
    for home_id, home_devices in devices.items():
        consent = consents[home_id]
        # Counting starts at the latest of: the last activity, the last visit case, the earliest
        # install of the home's devices (a home never heard from is counted from its install).
        since = max(t for t in (last_activity.get(home_id), last_case.get(home_id),
                                min(d.installed_at for d in home_devices)) if t is not None)
        limit = consent.inactivity_hours or settings.SENSOR_INACTIVITY_HOURS
        hours = daytime_hours(since, now, quiet)
        if hours < limit:
            continue
        with transaction.atomic():
            device = _locked_device(home_devices[0].pk)
            if device is None or SensorCase.objects.filter(
                device__home_id=home_id, rule=SensorCase.Rule.INACTIVITY, is_open=True,
                case__status__in=UNANSWERED,
            ).exclude(device=device).exists():
                continue
            at = timezone.localtime(since).strftime("%Y-%m-%d %H:%M")
            reading = f"自 {at} 起白天累计 {hours:.1f} 小时无人体/门磁活动（阈值 {limit} 小时，夜间静默时段不计）"
            if _open(device, SensorCase.Rule.INACTIVITY, accept_hours=settings.SENSOR_VISIT_ACCEPT_HOURS,
                     resolve_hours=settings.SENSOR_VISIT_RESOLVE_HOURS, reading=reading):
                opened += 1
    return opened


def do_check_maintenance(*, now: dt.datetime | None = None) -> int:
    """Open a maintenance case for each device silent past its heartbeat timeout or low on battery."""
    now = now or timezone.now()
    low = settings.SENSOR_BATTERY_LOW_PERCENT
    live = Device.objects.exclude(state=Device.State.RETIRED)
    silent = live.filter(heartbeat.silent_condition(now)) | live.filter(
        heartbeat.silent_condition(now, "installed_at"), last_heartbeat__isnull=True)
    weak = live.filter(battery__lt=low)
    last_case = {
        (device_id, rule): at for device_id, rule, at in
        SensorCase.objects.filter(rule__in=(SensorCase.Rule.HEARTBEAT, SensorCase.Rule.BATTERY))
        .values("device_id", "rule").annotate(at=Max("created_at")).values_list("device_id", "rule", "at")
    }
    opened = 0
    for device in silent.order_by("pk"):
        known = last_case.get((device.pk, SensorCase.Rule.HEARTBEAT))
        if known is not None and (device.last_heartbeat is None or device.last_heartbeat < known):
            continue  # the same silence already had its case
        opened += _maintenance(device.pk, SensorCase.Rule.HEARTBEAT, lambda d: (
            f"最近心跳 {timezone.localtime(d.last_heartbeat).strftime('%Y-%m-%d %H:%M')}" if d.last_heartbeat
            else "安装后从未上报心跳") + f"，超过 {heartbeat.timeout_minutes(d)} 分钟无心跳")
    for device in weak.order_by("pk"):
        known = last_case.get((device.pk, SensorCase.Rule.BATTERY))
        if known is not None and (device.battery_at is None or device.battery_at < known):
            continue  # no battery report since the last case
        opened += _maintenance(device.pk, SensorCase.Rule.BATTERY, lambda d: f"电量 {d.battery}%（低于 {low}%），请更换电池")
    return opened


def _maintenance(pk: int, rule: str, reading) -> int:
    with transaction.atomic():
        device = _locked_device(pk)
        if device is None:
            return 0
        if rule == SensorCase.Rule.BATTERY and (device.battery is None or device.battery >= settings.SENSOR_BATTERY_LOW_PERCENT):
            return 0  # a fresh report came in between
        opened = _open(device, rule, accept_hours=settings.SENSOR_MAINTENANCE_ACCEPT_HOURS,
                       resolve_hours=settings.SENSOR_MAINTENANCE_RESOLVE_HOURS, reading=reading(device))
        return 1 if opened else 0
