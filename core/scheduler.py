"""Periodic jobs: which Django tasks run how often, and which scheduler enqueues them.

Each app registers its own jobs in its AppConfig.ready() with `register_periodic`:
an interval (`every_seconds`) or a cron expression read in the server's zone
(settings.TIME_ZONE, Asia/Shanghai), e.g. `cron="0 3 * * *"` for 03:00 every day.

`manage.py run_scheduler` calls `enqueue_due_jobs()` every tick; `db_worker`
processes run the tasks. When each job is next due is kept in the database
(core.models.PeriodicJobState), not in the scheduler: a job runs once per period
cluster-wide however many schedulers run, and a restarted scheduler does not run a
daily job that already ran today. A scheduler that was down when a job fell due runs
it once when it comes back, not once per missed period.

Every periodic task must still be safe to run twice at once (a slow run overlapping
the next one): they claim rows with locks or conditional updates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from core.models import PeriodicJobState
from core.outage import RECOVERABLE_DB_ERRORS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    task_path: str  # dotted path to a django.tasks Task
    every_seconds: int | None = None
    cron: str | None = None  # five-field cron expression in settings.TIME_ZONE

    @property
    def interval(self) -> int | None:
        # SCHEDULER_INTERVAL_SECONDS shortens every interval job at once (tests, demos).
        override = getattr(settings, "SCHEDULER_INTERVAL_SECONDS", None)
        return override if (override and self.every_seconds) else self.every_seconds

    @property
    def schedule(self) -> str:
        return f"cron:{self.cron}" if self.cron else f"every:{self.interval}s"

    def next_run_after(self, moment: datetime) -> datetime:
        if self.cron:
            return next(CronSim(self.cron, moment.astimezone(ZoneInfo(settings.TIME_ZONE))))
        return moment + timedelta(seconds=self.interval or 0)

    def first_run(self, now: datetime) -> datetime:
        """A new interval job runs at once; a new cron job waits for its first time."""
        return self.next_run_after(now) if self.cron else now


_JOBS: dict[str, PeriodicJob] = {}


def register_periodic(task_path: str, every_seconds: int | None = None, *, cron: str | None = None) -> None:
    """Schedule the task at `task_path` every `every_seconds`, or at the times of `cron`."""
    if (every_seconds is None) == (cron is None):
        raise ImproperlyConfigured(f"{task_path}: give every_seconds or cron, not both or neither")
    if every_seconds is not None and every_seconds <= 0:
        raise ImproperlyConfigured(f"{task_path}: every_seconds must be positive")
    if cron is not None:
        try:
            CronSim(cron, timezone.now())
        except CronSimError as exc:
            raise ImproperlyConfigured(f"{task_path}: bad cron expression {cron!r}: {exc}") from exc
    job = PeriodicJob(task_path, every_seconds, cron)
    registered = _JOBS.setdefault(task_path, job)
    if registered != job:
        raise ImproperlyConfigured(f"{task_path} is registered twice with different schedules")


def periodic_jobs() -> list[PeriodicJob]:
    return list(_JOBS.values())


def enqueue_due_jobs(now: datetime | None = None) -> list[str]:
    """Enqueue every job due now that no other scheduler has claimed; return their paths.

    `now` fixes the clock (tests); otherwise each claim reads the clock when it is made, so
    a tick slowed by a reconnect does not date a run earlier than it happened (which
    would bring the next one closer than a period). Database errors propagate: the
    caller (run_scheduler) reconnects and tries again.
    """
    clock = (lambda: now) if now else timezone.now
    now = clock()
    jobs = {job.task_path: job for job in periodic_jobs()}
    states = PeriodicJobState.objects.in_bulk(list(jobs))
    missing = [
        PeriodicJobState(name=path, schedule=job.schedule, next_run_at=job.first_run(now))
        for path, job in jobs.items()
        if path not in states
    ]
    if missing:
        # Two schedulers starting together may both insert: the second insert is ignored.
        PeriodicJobState.objects.bulk_create(missing, ignore_conflicts=True)
        states = PeriodicJobState.objects.in_bulk(list(jobs))

    enqueued = []
    for path, job in jobs.items():
        state = states[path]
        if state.schedule != job.schedule:
            # The schedule changed in a deploy (or by SCHEDULER_INTERVAL_SECONDS): count from now.
            PeriodicJobState.objects.filter(name=path, schedule=state.schedule).update(
                schedule=job.schedule, next_run_at=job.first_run(now)
            )
            continue
        if state.next_run_at > clock():
            continue
        try:
            if _claim_and_enqueue(job, seen_next_run_at=state.next_run_at, now=clock()):
                enqueued.append(path)
        except RECOVERABLE_DB_ERRORS:
            raise
        except Exception:
            # One job that cannot be enqueued (a renamed task) must not stop the others;
            # its claim rolled back, so it is tried again next tick.
            logger.exception("could not enqueue periodic job %s", path)
    return enqueued


def _claim_and_enqueue(job: PeriodicJob, *, seen_next_run_at: datetime, now: datetime) -> bool:
    task = import_string(job.task_path)
    with transaction.atomic():
        # Compare-and-set on the value read: of two schedulers that read the same due time,
        # the second one's UPDATE waits for the first's commit, then matches no row.
        claimed = PeriodicJobState.objects.filter(name=job.task_path, next_run_at=seen_next_run_at).update(
            next_run_at=job.next_run_after(now), last_run_at=now, run_count=F("run_count") + 1
        )
        if not claimed:
            return False
        # With django-tasks-db the task row commits with the claim, or neither does.
        result = task.enqueue()
        PeriodicJobState.objects.filter(name=job.task_path).update(last_task_id=str(result.id)[:64])
    logger.debug("enqueued periodic job %s", job.task_path)
    return True
