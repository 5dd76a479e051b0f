"""The metrics core owns, read at scrape time (core/metrics.py): the task queue and the scheduler."""

from __future__ import annotations

from django.db.models import Count

from core.metrics import register_gauge


def task_queue_depth():
    """Tasks waiting to run (django-tasks-db rows ready now), per queue."""
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.ready().order_by().values("queue_name").annotate(n=Count("id"))
    return [((row["queue_name"],), row["n"]) for row in rows]


def scheduler_last_run():
    """When each periodic job was last enqueued, as a Unix time (0: never)."""
    from core.models import PeriodicJobState

    rows = PeriodicJobState.objects.values_list("name", "last_run_at")
    return [((name,), last.timestamp() if last else 0) for name, last in rows]


def register_core_gauges() -> None:
    register_gauge("stq_task_queue_depth", "Tasks ready to run and not yet taken, per queue.", ["queue"], task_queue_depth)
    register_gauge(
        "stq_scheduler_last_run_timestamp_seconds",
        "When the scheduler last enqueued each periodic job (Unix time; 0 = never).",
        ["job"],
        scheduler_last_run,
    )
