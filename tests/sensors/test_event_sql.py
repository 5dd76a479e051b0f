"""sensors.event_sql (PostgreSQL's one `INSERT … ON CONFLICT DO NOTHING RETURNING` for a batch's
events) stores what the ORM path stores (bulk_create and the read-back by batch id) and answers
the same: the events it inserted, not the ones already stored. The ORM path is what SQLite runs
(tests/sensors/test_ingest.py there); here both run on PostgreSQL and are compared."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from sensors import event_sql
from sensors.actions import ingest
from sensors.models import SensorEvent
from tests.sensors.conftest import event

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's; elsewhere it is the ORM"),
]

COLUMNS = ("vendor_event_id", "device_id", "type", "occurred_at", "value", "batch")


def _rows(world, prefix: str) -> list[SensorEvent]:
    payload = {"events": [
        event(f"{prefix}-1", "SMK-1", "heartbeat"),
        event(f"{prefix}-2", "SMK-1", "battery", value=37),
        event(f"{prefix}-3", "DOOR-1", "reading", value={"open": True, "note": "门开"}),
        event(f"{prefix}-4", "GAS-1", "alarm", value=None),
        event(f"{prefix}-5", "DOOR-1", "reading", value=[1, 2.5, "x"]),
    ]}
    rows, refused = ingest.check_events(world.integration, payload)
    assert refused == []
    return rows


def _stored(prefix: str) -> list[tuple]:
    return [(event_id.split("-", 1)[1], *rest) for event_id, *rest in
            SensorEvent.objects.filter(vendor_event_id__startswith=prefix).order_by("vendor_event_id").values_list(*COLUMNS)]


def test_the_statement_stores_and_answers_what_the_orm_path_does(world, monkeypatch):
    batch = uuid.uuid4()
    assert ingest._insert_new(world.integration, _rows(world, "raw"), batch) == {f"raw-{i}" for i in range(1, 6)}
    raw = _stored("raw")

    monkeypatch.setattr(event_sql, "available", lambda: False)
    assert ingest._insert_new(world.integration, _rows(world, "orm"), batch) == {f"orm-{i}" for i in range(1, 6)}
    assert raw == _stored("orm")
    # A JSON null is not stored as the JSON value null: SQL NULL, as the ORM stores a JSONField's None.
    assert SensorEvent.objects.filter(vendor_event_id__in=["raw-4", "orm-4"], value__isnull=True).count() == 2


def test_only_the_rows_this_statement_inserted_are_answered(world):
    first = _rows(world, "e")[:3]
    assert event_sql.insert_new(world.integration.pk, first, uuid.uuid4()) == {"e-1", "e-2", "e-3"}
    again = uuid.uuid4()
    assert event_sql.insert_new(world.integration.pk, _rows(world, "e"), again) == {"e-4", "e-5"}
    # The earlier rows keep their first push's batch and time: nothing was overwritten.
    assert set(SensorEvent.objects.filter(batch=again).values_list("vendor_event_id", flat=True)) == {"e-4", "e-5"}
    assert event_sql.insert_new(world.integration.pk, [], again) == set()
