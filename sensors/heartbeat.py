"""When a device counts as silent: no heartbeat for its own timeout (`Device.heartbeat_timeout_minutes`,
declared per device, e.g. from the vendor's CSV) or, when it declares none,
SENSOR_HEARTBEAT_TIMEOUT_MINUTES. The maintenance rule (sensors.actions.rules) and the console's
离线 (sensors.queries) both ask here, so they never disagree about a device."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q

from sensors.models import Device


def timeout_minutes(device: Device) -> int:
    return device.heartbeat_timeout_minutes or settings.SENSOR_HEARTBEAT_TIMEOUT_MINUTES


def silent_since(device: Device, now: dt.datetime) -> dt.datetime:
    """A heartbeat before this moment is too old: the device is silent."""
    return now - dt.timedelta(minutes=timeout_minutes(device))


def silent_condition(now: dt.datetime, field: str = "last_heartbeat") -> Q:
    """Devices whose `field` (a time) is older than their timeout, as one SQL condition: one
    branch per timeout declared among the devices (a handful: vendors' models), read in one
    query, plus the default's for devices that declare none."""
    default = settings.SENSOR_HEARTBEAT_TIMEOUT_MINUTES
    declared = (Device.objects.filter(heartbeat_timeout_minutes__isnull=False).exclude(heartbeat_timeout_minutes=default)
                .order_by().values_list("heartbeat_timeout_minutes", flat=True).distinct())
    condition = (Q(heartbeat_timeout_minutes__isnull=True) | Q(heartbeat_timeout_minutes=default)) & Q(
        **{f"{field}__lt": now - dt.timedelta(minutes=default)})
    for minutes in sorted(declared):
        condition |= Q(heartbeat_timeout_minutes=minutes, **{f"{field}__lt": now - dt.timedelta(minutes=minutes)})
    return condition
