"""Periodic jobs: which Django tasks run every how many seconds.

`manage.py run_scheduler` enqueues each due task on its interval; `db_worker`
processes run them. Every periodic task must be safe to run twice at once (a second
scheduler, or a slow run overlapping the next): they claim rows with locks or
conditional updates, never by trusting that they are alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    task_path: str  # dotted path to a django.tasks Task
    every_seconds: int


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("core.tasks.check_pending_images", 60),
    PeriodicJob("community.tasks.recheck_pending_content", 60),
    PeriodicJob("deliberation.tasks.close_due_votes", 60),
    PeriodicJob("deliberation.tasks.recheck_pending_content", 60),
    PeriodicJob("core.tasks.purge_expired_sensitive_data", 24 * 3600),
    PeriodicJob("core.tasks.purge_idempotency_records", 3600),  # replay records expire after 24 h
    PeriodicJob("services.tasks.flag_overdue_requests", 60),
    # The sweep that re-enqueues outbox rows a killed worker or a lost enqueue left behind.
    PeriodicJob("notifications.tasks.deliver_due_outbox", 15),
    # Dashboard snapshots (console/snapshots.py): recent cohorts often, the last quarter nightly.
    PeriodicJob("console.tasks.refresh_dashboard_snapshots", 600),
    PeriodicJob("console.tasks.refresh_dashboard_snapshots_daily", 24 * 3600),
]


def register_periodic(task_path: str, every_seconds: int) -> None:
    job = PeriodicJob(task_path, every_seconds)
    if job not in PERIODIC_JOBS:
        PERIODIC_JOBS.append(job)
