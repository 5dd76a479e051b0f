"""sensors.device_sql (PostgreSQL's one statement for a batch's heartbeat and battery moves)
writes what the ORM path writes: the same devices end with the same values, from the same
starting rows, including the ones an older event must leave alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from sensors import device_sql
from sensors.actions import ingest
from sensors.models import Device, SensorEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's; elsewhere it is the ORM"),
]

T = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _devices(world) -> list[Device]:
    made = []
    starts = [(None, None, None), (T, 80, T), (T + dt.timedelta(hours=2), 60, T + dt.timedelta(hours=2)), (T, None, None)]
    for n, (hb, battery, battery_at) in enumerate(starts):
        made.append(Device.objects.create(kind=Device.Kind.SMOKE, vendor="acme", vendor_device_id=f"SQL-{n}",
                                          region=world.neighborhood, place=world.smoke.place, last_heartbeat=hb,
                                          battery=battery, battery_at=battery_at))
    return made


def _events(devices: list[Device]) -> list[SensorEvent]:
    at = T + dt.timedelta(hours=1)  # newer than devices 0, 1 and 3; older than device 2
    rows = []
    for device in devices:
        rows.append(SensorEvent(device=device, device_id=device.pk, type=SensorEvent.Type.HEARTBEAT, occurred_at=at))
        rows.append(SensorEvent(device=device, device_id=device.pk, type=SensorEvent.Type.HEARTBEAT, occurred_at=at - dt.timedelta(minutes=5)))
        rows.append(SensorEvent(device=device, device_id=device.pk, type=SensorEvent.Type.BATTERY, occurred_at=at, value=40))
    return rows


def _state(devices: list[Device]) -> list[tuple]:
    return list(Device.objects.filter(pk__in=[d.pk for d in devices]).order_by("pk")
                .values_list("last_heartbeat", "battery", "battery_at"))


def test_the_statement_writes_what_the_orm_writes(world, monkeypatch):
    devices = _devices(world)
    ingest._move_devices_forward(_events(devices))
    raw = _state(devices)
    Device.objects.filter(pk__in=[d.pk for d in devices]).delete()

    devices = _devices(world)
    monkeypatch.setattr(device_sql, "available", lambda: False)
    ingest._move_devices_forward(_events(devices))
    assert raw == _state(devices)
    later, earlier = T + dt.timedelta(hours=1), T + dt.timedelta(hours=2)
    assert raw == [(later, 40, later), (later, 40, later), (earlier, 60, earlier), (later, 40, later)]
