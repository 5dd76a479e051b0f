"""PIPL export, erasure and retention for 物联感知 (privacy/pipl.py, privacy/retention.py).

Readings from a home are personal data of the elder and, through them, of the family member who
registered the elder (the beneficiary's owner, the account the rights are exercised from).
Export gives, for each elder the person registered: the consents, the devices in the home, their
raw events and their daily aggregates. Erasure withdraws the consents and unbinds and retires the
home's devices, deleting their raw events and aggregates
(sensors.actions.consents.withdraw_home_consent); alerts already on a unit's board stay as the
unit's record (their device is no longer linked to a home).

Retention has a period of its own, SENSOR_RAW_RETENTION_DAYS (default 90): the daily purge
(privacy.retention.purge_expired) hands every purger now - SENSITIVE_RETENTION_DAYS, so the
sensors purger recovers `now` from it and cuts at now - SENSOR_RAW_RETENTION_DAYS. Raw events
received before that are folded, batch by batch and oldest first (index `sensor_event_age`),
into `DeviceDayAggregate` rows — per device and Shanghai day, counts per event type and the
battery's min, max and last — and deleted in the same transaction, so a reading is either still
raw or already counted, never both nor neither. The alert cases and their timelines stay.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from privacy.pipl import model_rows, register_eraser, register_exporter
from privacy.retention import register_purger
from residents.models import Beneficiary
from sensors.actions.consents import withdraw_home_consent
from sensors.models import Device, DeviceDayAggregate, HomeConsent, SensorEvent

PURGE_BATCH = 10_000
COUNTS = {
    SensorEvent.Type.READING: "readings", SensorEvent.Type.ALARM: "alarms",
    SensorEvent.Type.HEARTBEAT: "heartbeats", SensorEvent.Type.BATTERY: "batteries",
}


def export(user) -> dict:
    homes = Beneficiary.objects.filter(owner=user).values("pk")
    devices = Device.objects.filter(home__in=homes)
    return {
        "home_consents": model_rows(HomeConsent.objects.filter(beneficiary__in=homes)),
        "devices": model_rows(devices),
        "sensor_events": model_rows(SensorEvent.objects.filter(device__in=devices.values("pk")).order_by("occurred_at")),
        "sensor_day_aggregates": model_rows(
            DeviceDayAggregate.objects.filter(device__in=devices.values("pk")).order_by("device_id", "day")
        ),
    }


def erase(user) -> None:
    for home_id in Beneficiary.objects.filter(owner=user).values_list("pk", flat=True):
        withdraw_home_consent(home_id)


def raw_cutoff(sensitive_cutoff: datetime) -> datetime:
    now = sensitive_cutoff + timedelta(days=settings.SENSITIVE_RETENTION_DAYS)
    return now - timedelta(days=settings.SENSOR_RAW_RETENTION_DAYS)


def _battery(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if 0 <= value <= 100 else None


def fold_into_aggregates(events: list[tuple]) -> int:
    """Add (device_id, type, occurred_at, value) rows to their devices' day aggregates."""
    folded: dict[tuple[int, object], DeviceDayAggregate] = {}
    for device_id, type_, occurred_at, value in events:
        key = (device_id, timezone.localtime(occurred_at).date())
        agg = folded.get(key) or folded.setdefault(key, DeviceDayAggregate(device_id=device_id, day=key[1]))
        field = COUNTS.get(type_)
        if field:
            setattr(agg, field, getattr(agg, field) + 1)
        battery = _battery(value) if type_ == SensorEvent.Type.BATTERY else None
        if battery is not None:
            _merge_battery(agg, battery, battery, battery, occurred_at)
    existing = DeviceDayAggregate.objects.select_for_update().filter(
        device_id__in={k[0] for k in folded}, day__in={k[1] for k in folded}
    )
    updated = []
    for row in existing:
        new = folded.pop((row.device_id, row.day), None)
        if new is None:
            continue
        for field in COUNTS.values():
            setattr(row, field, getattr(row, field) + getattr(new, field))
        if new.battery_last_at is not None:
            _merge_battery(row, new.battery_min, new.battery_max, new.battery_last, new.battery_last_at)
        updated.append(row)
    fields = [*COUNTS.values(), "battery_min", "battery_max", "battery_last", "battery_last_at"]
    DeviceDayAggregate.objects.bulk_update(updated, fields, batch_size=1000)
    DeviceDayAggregate.objects.bulk_create(folded.values(), batch_size=1000)
    return len(updated) + len(folded)


def _merge_battery(agg: DeviceDayAggregate, low: int, high: int, last: int, last_at: datetime) -> None:
    agg.battery_min = low if agg.battery_min is None else min(agg.battery_min, low)
    agg.battery_max = high if agg.battery_max is None else max(agg.battery_max, high)
    if agg.battery_last_at is None or last_at >= agg.battery_last_at:
        agg.battery_last, agg.battery_last_at = last, last_at


def purge_raw_events(cutoff: datetime) -> int:
    """Fold raw events received before the sensors cutoff into day aggregates and delete them,
    oldest first, in batches (idempotent: a folded event is gone, so it is never counted twice)."""
    before = raw_cutoff(cutoff)
    deleted = 0
    while True:
        with transaction.atomic():
            rows = list(
                SensorEvent.objects.filter(received_at__lt=before).order_by("received_at", "id")
                .values_list("pk", "device_id", "type", "occurred_at", "value")[:PURGE_BATCH]
            )
            if not rows:
                return deleted
            fold_into_aggregates([r[1:] for r in rows])
            deleted += SensorEvent.objects.filter(pk__in=[r[0] for r in rows]).delete()[0]


register_exporter("sensors", export)
register_eraser("sensors", erase)
register_purger("sensors.raw_events", purge_raw_events)
