"""Background work: keep the dashboard snapshots fresh (scheduled in core/scheduler.py)."""

from __future__ import annotations

from datetime import date, timedelta

from django.tasks import task
from django.utils import timezone

from console.snapshots import refresh_snapshots

# Every 10 minutes the recent cohorts are recomputed: a post answered, a request completed
# or a topic moved on within a week of its creation shows on the next refresh. The daily
# run reaches back a quarter; older cohorts change only with `refresh_dashboard_snapshots --since`.
RECENT_DAYS = 7
DAILY_DAYS = 92


@task()
def refresh_dashboard_snapshots(day: str | None = None) -> int:
    """Recompute one day's rows (ISO date), or, without an argument, the last RECENT_DAYS days."""
    if day:
        return refresh_snapshots(date.fromisoformat(day))
    today = timezone.localdate()
    return refresh_snapshots(today - timedelta(days=RECENT_DAYS - 1), today)


@task()
def refresh_dashboard_snapshots_daily() -> int:
    today = timezone.localdate()
    return refresh_snapshots(today - timedelta(days=DAILY_DAYS - 1), today)
