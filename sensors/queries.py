"""Read models for staff (docs/sensors.md): the per-device false-alarm rate, a device's state as
the console shows it, and the device list with its alert counts."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from sensors import heartbeat
from sensors.models import Device, SensorCase


def false_alarm_rates(neighborhood_ids) -> list[dict]:
    """Per device of these neighborhoods with at least one closed alert: closed alerts, how many
    were 误报, and the rate; highest rate first. One query."""
    rows = (
        SensorCase.objects.filter(device__region_id__in=neighborhood_ids, is_open=False)
        .exclude(outcome="")
        .values("device_id", "device__kind", "device__vendor", "device__vendor_device_id", "device__region_id")
        .annotate(closed=Count("pk"), false_alarms=Count("pk", filter=Q(outcome=SensorCase.Outcome.FALSE_ALARM)))
        .order_by("device_id")
    )
    out = [
        {
            "device": r["device_id"], "kind": r["device__kind"], "vendor": r["device__vendor"],
            "vendor_device_id": r["device__vendor_device_id"], "neighborhood": r["device__region_id"],
            "closed": r["closed"], "false_alarms": r["false_alarms"], "rate": round(r["false_alarms"] / r["closed"], 4),
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: (-r["rate"], r["device"]))


# What staff see of a device (docs/sensors.md, Console): 报警中 wins, then 低电量, then 离线
# (no heartbeat for the device's timeout, as the maintenance rule: sensors.heartbeat), else 在线;
# a retired device is 停用.
class Display:
    ALARM, LOW_BATTERY, SILENT, ONLINE, RETIRED = "alarm", "low_battery", "silent", "online", "retired"
    LABELS = {"alarm": "报警中", "low_battery": "低电量", "silent": "离线", "online": "在线", "retired": "停用"}


def display_conditions(now: datetime) -> dict[str, Q]:
    """The SQL condition for each display state, consistent with `display_state` (one query: the
    heartbeat timeouts the devices declare, sensors.heartbeat)."""
    alarm = Q(state=Device.State.ALARM)
    retired = Q(state=Device.State.RETIRED)
    low = Q(battery__lt=settings.SENSOR_BATTERY_LOW_PERCENT)
    silent = Q(last_heartbeat__isnull=True) | heartbeat.silent_condition(now)
    return {
        Display.ALARM: alarm,
        Display.RETIRED: retired,
        Display.LOW_BATTERY: ~alarm & ~retired & low,
        Display.SILENT: ~alarm & ~retired & ~low & silent,
        Display.ONLINE: ~alarm & ~retired & ~low & ~silent,
    }


def display_condition(display: str, now: datetime) -> Q:
    return display_conditions(now)[display]


def display_state(device: Device, now: datetime) -> str:
    if device.state == Device.State.ALARM:
        return Display.ALARM
    if device.state == Device.State.RETIRED:
        return Display.RETIRED
    if device.battery is not None and device.battery < settings.SENSOR_BATTERY_LOW_PERCENT:
        return Display.LOW_BATTERY
    if device.last_heartbeat is None or device.last_heartbeat < heartbeat.silent_since(device, now):
        return Display.SILENT
    return Display.ONLINE


def with_alarm_counts(devices: QuerySet[Device]) -> QuerySet[Device]:
    """Devices with their alerts, closed alerts and false alarms counted in the same query (one
    GROUP BY), for the console's device list."""
    closed = Q(sensor_cases__is_open=False) & ~Q(sensor_cases__outcome="")
    return (
        devices.select_related("region", "place")
        .annotate(
            alerts=Count("sensor_cases"),
            closed_alerts=Count("sensor_cases", filter=closed),
            false_alarms=Count("sensor_cases", filter=closed & Q(sensor_cases__outcome=SensorCase.Outcome.FALSE_ALARM)),
        )
    )
