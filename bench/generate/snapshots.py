"""The dashboards' snapshots for the generated history, written straight into the empty tables.

The live job (console/snapshots.py `refresh_since`) recomputes a month at a time and upserts
through the ORM: at Baoshan scale that was 36 windows, each scanning every membership and role
again, and ~2 million rows through `bulk_create(update_conflicts=True)` — 13 minutes of the
generator's 44 (bench/README.md, "Issue 20 — generator"). Here the same figures come from the same
functions (`compute_snapshots`, so they cannot drift from what the job computes), over windows of
a year, and go in by COPY with explicit ids (the histograms' week roll-ups last, from the copied day
rows by the refresh's own query): the tables are empty after the generator's flush, so
there is nothing to upsert and nothing stale to delete. tests/scale/test_generator_snapshots.py
compares the result with the live job's on the same rows.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from console.models import DurationHistogramWeek
from console.queries import monday
from console.snapshots import compute_snapshots, week_histogram_rows

from .loader import Loader

# Days per window: memory stays bounded (a year at Baoshan scale is ~200k neighborhood-day rows
# and their histograms) while the per-window scans of memberships and roles run 3-4 times, not 36.
WINDOW_DAYS = 366


def backfill_snapshots(loader: Loader, first: dt.date, last: dt.date) -> dict[str, int]:
    """Every snapshot row for first..last (inclusive); returns rows written per table."""
    now = timezone.now()
    next_id: dict[type, int] = {}
    written: dict[str, int] = {}
    cursor = first
    while cursor <= last:
        until = min(cursor + dt.timedelta(days=WINDOW_DAYS - 1), last)
        for model, items in compute_snapshots(cursor, until, now).by_model():
            if not items:
                continue
            fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
            start = next_id.get(model, 1)
            rows = ((start + i, *(getattr(item, name) for name in fields)) for i, item in enumerate(items))
            table = model._meta.db_table
            loader.load(model, ["id", *fields], rows, total=len(items), label=table.removeprefix("console_"))
            next_id[model] = start + len(items)
            written[table] = written.get(table, 0) + len(items)
        cursor = until + dt.timedelta(days=1)
    # The week roll-ups from the day rows just copied, by the refresh's own query (read whole
    # first: the connection cannot fetch from a cursor while it copies).
    fields = ["neighborhood_id", "week", "metric", "category_id", "bucket", "count"]
    weeks = list(week_histogram_rows(monday(first), monday(last)).values_list(*fields))
    table = DurationHistogramWeek._meta.db_table
    written[table] = loader.load(
        DurationHistogramWeek,
        ["id", *fields, "refreshed_at"],
        ((i, *row, now) for i, row in enumerate(weeks, start=1)),
        total=len(weeks),
        label=table.removeprefix("console_"),
    )
    return written
