"""A signed batch of events from a vendor's platform (sensors.api.IngestView, docs/sensors.md).

Each event is checked on its own: a bad one is refused with a reason and the good ones are
kept. The good ones are inserted in one statement that skips any (integration, vendor event id)
already stored (the unique constraint decides, so two copies of a batch pushed at once store
each event once) and tells which rows it inserted — on PostgreSQL its RETURNING
(`sensors.event_sql`), elsewhere the rows carrying this push's `batch` id — which is how the
answer tells accepted from duplicate and why only accepted events move devices and raise alarms.
Heartbeat and battery only ever move forward in `occurred_at` (one set-based conditional
UPDATE per batch), so a late or reordered event cannot roll them back. Every device row the
batch writes is locked first, in id order, so two batches sharing devices cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import InvalidInput
from sensors import device_sql, event_sql
from sensors.actions.alarms import ALARM_KINDS, do_raise_alarms
from sensors.models import Device, Integration, SensorEvent

MAX_ID = 64
FUTURE_SLACK = dt.timedelta(minutes=5)  # a device's clock may run a little ahead; more is refused


@dataclass(frozen=True)
class Refusal:
    index: int
    event_id: str | None
    code: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "code": self.code, "reason": self.reason}


def _refuse(index: int, event_id: Any, code: str, reason: str) -> Refusal:
    return Refusal(index, event_id if isinstance(event_id, str) else None, code, reason)


def _parse_time(raw: Any) -> dt.datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        return None
    if value is None or timezone.is_naive(value):
        return None  # a time without an offset is ambiguous: refused, not guessed
    return value


def check_events(integration: Integration, payload: Any) -> tuple[list[SensorEvent], list[Refusal]]:
    """The events worth storing (unsaved rows) and the refused ones with reasons."""
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise InvalidInput("events_required", "请求须为 {\"events\": [...]}", field="events")
    limit = settings.SENSOR_INGEST_MAX_EVENTS
    if len(events) > limit:
        raise InvalidInput("too_many_events", f"每批最多 {limit} 条事件", max_events=limit, field="events")
    wanted = {e.get("device_id") for e in events if isinstance(e, dict) and isinstance(e.get("device_id"), str)}
    devices = {d.vendor_device_id: d for d in Device.objects.filter(vendor=integration.vendor, vendor_device_id__in=wanted)}
    latest_allowed = timezone.now() + FUTURE_SLACK
    rows: list[SensorEvent] = []
    refused: list[Refusal] = []
    seen: set[str] = set()
    types = set(SensorEvent.Type.values)
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            refused.append(_refuse(index, None, "invalid_event", "事件须为对象"))
            continue
        event_id = event.get("event_id")
        if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > MAX_ID:
            refused.append(_refuse(index, event_id, "invalid_event_id", f"event_id 须为 1-{MAX_ID} 个字符"))
            continue
        if event_id in seen:
            refused.append(_refuse(index, event_id, "repeated_in_batch", "同一批次中 event_id 重复"))
            continue
        kind = event.get("type")
        if kind not in types:
            refused.append(_refuse(index, event_id, "invalid_type", f"type 须为 {'/'.join(sorted(types))}"))
            continue
        occurred_at = _parse_time(event.get("occurred_at"))
        if occurred_at is None:
            refused.append(_refuse(index, event_id, "invalid_time", "occurred_at 须为带时区的 ISO 8601 时间"))
            continue
        if occurred_at > latest_allowed:
            refused.append(_refuse(index, event_id, "time_in_future", "occurred_at 晚于当前时间"))
            continue
        device = devices.get(event.get("device_id"))
        if device is None:
            refused.append(_refuse(index, event_id, "unknown_device", "设备未登记"))
            continue
        if device.state == Device.State.RETIRED:
            refused.append(_refuse(index, event_id, "device_retired", "设备已停用"))
            continue
        value = event.get("value")
        if kind == SensorEvent.Type.BATTERY and not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100):
            refused.append(_refuse(index, event_id, "invalid_value", "电量须为 0-100 的整数"))
            continue
        seen.add(event_id)
        rows.append(SensorEvent(
            integration=integration, vendor_event_id=event_id, device=device, type=kind, occurred_at=occurred_at, value=value,
        ))
    return rows, refused


def do_ingest_batch(integration: Integration, payload: Any) -> dict[str, list]:
    """Store a batch; answer which events were accepted, which were already stored and which were refused."""
    rows, refused = check_events(integration, payload)
    ids = [row.vendor_event_id for row in rows]  # the answer keeps the batch's order
    # Inserted in event-id order, so two pushes sharing ids wait on each other in one order (no deadlock).
    rows.sort(key=lambda row: row.vendor_event_id)
    batch = uuid.uuid4()
    with transaction.atomic():
        won = _insert_new(integration, rows, batch)
        accepted = [row for row in rows if row.vendor_event_id in won]
        alarms: dict[int, list[SensorEvent]] = {}
        for row in accepted:
            if row.type == SensorEvent.Type.ALARM and row.device.kind in ALARM_KINDS:
                alarms.setdefault(row.device_id, []).append(row)
        moved = {row.device_id for row in accepted if row.type in (SensorEvent.Type.HEARTBEAT, SensorEvent.Type.BATTERY)}
        _lock_devices(moved | set(alarms))
        _move_devices_forward(accepted)
        if alarms:
            do_raise_alarms(alarms)
    return {
        "accepted": [i for i in ids if i in won],
        "duplicate": [i for i in ids if i not in won],
        "refused": [r.as_dict() for r in refused],
    }


def _insert_new(integration: Integration, rows: list[SensorEvent], batch: uuid.UUID) -> set[str]:
    """Insert the rows not stored yet, skipping conflicts on (integration, vendor event id); the
    vendor event ids this push inserted. On PostgreSQL one `INSERT … ON CONFLICT DO NOTHING
    RETURNING` (`sensors.event_sql`, whose docstring has the measured reason); elsewhere
    `bulk_create(ignore_conflicts=True)` and a read-back of the rows carrying this push's batch id."""
    if not rows:
        return set()
    if event_sql.available():
        return event_sql.insert_new(integration.pk, rows, batch)
    for row in rows:
        row.batch = batch
    SensorEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    # Through the unique index (integration, vendor_event_id), not a scan of the integration's events.
    return set(
        SensorEvent.objects.filter(integration=integration, vendor_event_id__in=[row.vendor_event_id for row in rows], batch=batch)
        .values_list("vendor_event_id", flat=True)
    )


def _lock_devices(device_ids: set[int]) -> None:
    """Lock every device row the batch will write, in id order, in one statement.

    The set-based UPDATE below and the alarm rule's per-device locks then only take rows this
    transaction already holds, so two batches sharing devices queue on the lowest shared id and
    can never wait on each other in a cycle (tests/sensors/test_races.py). The lock is `FOR NO
    KEY UPDATE` (as is the alarm rule's): the events' foreign-key checks, which PostgreSQL runs at
    COMMIT and which take a key share on every event's device — also the devices a batch only
    reads from and another batch holds — pass it; a `FOR UPDATE` blocked them, and two batches
    each committing deadlocked on the other's lock (40P01 under the bench's load, bench/README.md
    issue 18, session 8). On SQLite the write lock is the database's and this is a no-op."""
    if device_ids and connection.features.has_select_for_update:
        list(Device.objects.select_for_update(no_key=True).filter(pk__in=sorted(device_ids)).order_by("pk").values_list("pk", flat=True))


def _move_devices_forward(events: list[SensorEvent]) -> None:
    """Latest heartbeat and battery per device, each only if newer than what is stored: one
    UPDATE for the whole batch, whatever its size — on PostgreSQL `sensors.device_sql` (the
    ORM's form costs more to compile than it saves), elsewhere a CASE per column keyed by id.

    `last_heartbeat` becomes the later of the stored one and the batch's; `battery` and
    `battery_at` move together, only when the batch's report is newer. A device the batch does
    not move keeps its values (the CASE's default is the column itself)."""
    heartbeats: dict[int, dt.datetime] = {}
    batteries: dict[int, SensorEvent] = {}
    for event in events:
        if event.type == SensorEvent.Type.HEARTBEAT:
            if event.device_id not in heartbeats or event.occurred_at > heartbeats[event.device_id]:
                heartbeats[event.device_id] = event.occurred_at
        elif event.type == SensorEvent.Type.BATTERY:
            known = batteries.get(event.device_id)
            if known is None or event.occurred_at > known.occurred_at:
                batteries[event.device_id] = event
    if not heartbeats and not batteries:
        return
    if device_sql.available():
        device_sql.move_forward(heartbeats, {pk: (e.value, e.occurred_at) for pk, e in batteries.items()})
        return
    changes: dict[str, Case] = {}
    if heartbeats:
        changes["last_heartbeat"] = Case(
            *(When(pk=pk, then=Greatest(Coalesce("last_heartbeat", Value(at)), Value(at)))
              for pk, at in sorted(heartbeats.items())),
            default=F("last_heartbeat"), output_field=models.DateTimeField(),
        )
    if batteries:
        newer = {pk: Q(pk=pk) & (Q(battery_at__isnull=True) | Q(battery_at__lt=e.occurred_at)) for pk, e in batteries.items()}
        changes["battery"] = Case(
            *(When(newer[pk], then=Value(e.value)) for pk, e in sorted(batteries.items())),
            default=F("battery"), output_field=models.PositiveSmallIntegerField(),
        )
        changes["battery_at"] = Case(
            *(When(newer[pk], then=Value(e.occurred_at)) for pk, e in sorted(batteries.items())),
            default=F("battery_at"), output_field=models.DateTimeField(),
        )
    Device.objects.filter(pk__in=sorted({*heartbeats, *batteries})).update(**changes)
