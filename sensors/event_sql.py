"""A batch's events inserted as one PostgreSQL statement that answers which rows it inserted
(sensors.actions.ingest).

    INSERT INTO sensors_sensorevent (…) SELECT … FROM unnest(…)
    ON CONFLICT (integration_id, vendor_event_id) DO NOTHING RETURNING vendor_event_id

Why hand-written: the ORM's path is two statements and a lot of Python — `bulk_create(…,
ignore_conflicts=True)`, which builds and compiles one parameter per column per row and cannot
return what it inserted (ON CONFLICT DO NOTHING gives no ids back to Django), then a SELECT reading
back the batch's rows by their `batch` id to tell accepted from duplicate. Here the statement text
is fixed, the batch travels as five arrays, and RETURNING names exactly the rows this statement
inserted: a row another push inserted first (committed or not — the unique index makes this one
wait for it) is skipped and not returned, so two copies of a batch pushed at once still store each
event once and accept it in one answer (tests/sensors/test_races.py). Under the profiler
(`bench/sensor_load.py --profile`, 20 batches of 100, one process, 2026-12-02): `bulk_create`
alone took 22 ms a batch before the read-back, this statement 8 ms; the whole batch went from
62 to 52 ms (bench/README.md, issue 18, session 8).
Other databases take the ORM path (`sensors.actions.ingest._insert_new`);
tests/sensors/test_event_sql.py holds the two equal. Table and column names come from `_meta`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from functools import cache

from django.db import connection
from django.utils import timezone

from sensors.models import SensorEvent


def available() -> bool:
    return connection.vendor == "postgresql"


@cache
def _statement() -> str:
    meta = SensorEvent._meta
    column = {name: connection.ops.quote_name(meta.get_field(name).column) for name in (
        "integration", "vendor_event_id", "device", "type", "occurred_at", "value", "received_at", "batch")}
    return (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)}"
        f" ({column['integration']}, {column['vendor_event_id']}, {column['device']}, {column['type']},"
        f" {column['occurred_at']}, {column['value']}, {column['received_at']}, {column['batch']})"
        " SELECT %s, v.event_id, v.device_id, v.type, v.occurred_at, v.value, %s, %s"
        " FROM unnest(%s::varchar[], %s::bigint[], %s::varchar[], %s::timestamptz[], %s::jsonb[])"
        " AS v(event_id, device_id, type, occurred_at, value)"
        f" ON CONFLICT ({column['integration']}, {column['vendor_event_id']}) DO NOTHING"
        f" RETURNING {column['vendor_event_id']}"
    )


def insert_new(integration_id: int, rows: Sequence[SensorEvent], batch: uuid.UUID) -> set[str]:
    """Insert the rows (in their order) that are not stored yet; the vendor event ids inserted."""
    if not rows:
        return set()
    params = [
        integration_id, timezone.now(), batch,
        [row.vendor_event_id for row in rows],
        [row.device_id for row in rows],
        [row.type for row in rows],
        [row.occurred_at for row in rows],
        # None stays SQL NULL, as the ORM stores a JSONField's None.
        [None if row.value is None else json.dumps(row.value) for row in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        return {event_id for (event_id,) in cursor.fetchall()}
