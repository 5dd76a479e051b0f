"""A batch's heartbeat and battery moves as one PostgreSQL statement (sensors.actions.ingest).

Why hand-written: the ORM's one-statement form is an UPDATE with a CASE per column keyed by
device id, and Django builds and resolves one `When` per device per column in Python — with
~70 devices a batch that compile cost more than the round trips it saved (bench/README.md,
issue 18: one UPDATE per device was 268 ms a batch under the profiler, the ORM's CASE 207 ms,
of which 196 ms compiling). Here the
statement text is fixed and the batch travels as four arrays: `UPDATE … FROM unnest(…)`, one
round trip and no per-device Python (268 ms → 7 ms a batch under the profiler). Other
databases take the ORM path (`sensors.actions.ingest._move_devices_forward`);
tests/sensors/test_device_sql.py holds the two equal.

The rules are the ORM path's: `last_heartbeat` becomes the later of the stored one and the
batch's; `battery` and `battery_at` move together, only when the batch's report is newer than
the stored one. Every SET expression reads the row as it was, so the battery's condition is the
same for both columns. Table and column names come from the model's `_meta`.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from django.db import connection

from sensors.models import Device


def available() -> bool:
    return connection.vendor == "postgresql"


@cache
def _statement() -> str:
    meta = Device._meta
    table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    hb, bat, bat_at = (connection.ops.quote_name(meta.get_field(name).column)
                       for name in ("last_heartbeat", "battery", "battery_at"))
    newer_hb = f"v.hb IS NOT NULL AND (d.{hb} IS NULL OR d.{hb} < v.hb)"
    newer_bat = f"v.bat_at IS NOT NULL AND (d.{bat_at} IS NULL OR d.{bat_at} < v.bat_at)"
    return (
        f"UPDATE {table} AS d SET"
        f" {hb} = CASE WHEN {newer_hb} THEN v.hb ELSE d.{hb} END,"
        f" {bat} = CASE WHEN {newer_bat} THEN v.bat ELSE d.{bat} END,"
        f" {bat_at} = CASE WHEN {newer_bat} THEN v.bat_at ELSE d.{bat_at} END"
        " FROM unnest(%s::bigint[], %s::timestamptz[], %s::smallint[], %s::timestamptz[]) AS v(id, hb, bat, bat_at)"
        f" WHERE d.{pk} = v.id AND (({newer_hb}) OR ({newer_bat}))"
    )


def move_forward(heartbeats: dict[int, dt.datetime], batteries: dict[int, tuple[int, dt.datetime]]) -> int:
    """Apply the newest heartbeat and battery report per device; returns the rows changed."""
    ids = sorted({*heartbeats, *batteries})
    if not ids:
        return 0
    params = [
        ids,
        [heartbeats.get(pk) for pk in ids],
        [batteries[pk][0] if pk in batteries else None for pk in ids],
        [batteries[pk][1] if pk in batteries else None for pk in ids],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        return cursor.rowcount
