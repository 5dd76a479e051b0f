"""The periodic-job scheduler's bookkeeping (core.scheduler), in process on any database.

tests/core/test_scheduler_restart.py runs real schedulers and workers against a
PostgreSQL that is restarted under them.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils.module_loading import import_string

from core import scheduler
from core.models import PeriodicJobState
from core.scheduler import enqueue_due_jobs, periodic_jobs, register_periodic

SHANGHAI = ZoneInfo("Asia/Shanghai")
PURGE = "privacy.tasks.purge_expired_sensitive_data"
OUTBOX_SWEEP = "notifications.tasks.deliver_due_outbox"


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def test_every_app_registers_its_own_jobs_and_each_names_a_real_task():
    jobs = {job.task_path: job for job in periodic_jobs()}
    # services has none of its own: the case engine's sweep runs its deadlines (docs/matters.md).
    for app in ("core", "community", "cases", "deliberation", "notifications", "console"):
        assert any(path.startswith(app + ".") for path in jobs), app
    assert jobs["cases.tasks.escalate_overdue_cases"].every_seconds == 60
    for job in jobs.values():
        assert hasattr(import_string(job.task_path), "enqueue"), job.task_path
    assert jobs[PURGE].cron == "0 3 * * *"
    assert jobs["console.tasks.refresh_dashboard_snapshots_daily"].cron == "0 2 * * *"
    assert jobs[OUTBOX_SWEEP].every_seconds == 15


def test_scheduler_once_enqueues_and_runs_every_interval_job(transactional_db, caplog):
    # transactional: the command drops stale connections each tick, as a long-lived process must.
    # The test backend runs tasks immediately, so a job that cannot run shows as a logged error.
    call_command("run_scheduler", once=True)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    states = PeriodicJobState.objects.in_bulk()
    for job in periodic_jobs():
        if job.every_seconds:
            assert states[job.task_path].run_count == 1, job.task_path
            assert states[job.task_path].last_task_id


def test_a_new_daily_job_waits_for_its_hour_in_shanghai(db):
    enqueue_due_jobs(now=shanghai(2, 9))
    purge = PeriodicJobState.objects.get(name=PURGE)
    assert purge.run_count == 0
    assert purge.next_run_at == shanghai(3, 3)


def test_a_job_runs_once_per_period_however_often_the_scheduler_ticks(db):
    start = shanghai(2, 9)
    assert OUTBOX_SWEEP in enqueue_due_jobs(now=start)
    for seconds in (0, 1, 14):
        assert OUTBOX_SWEEP not in enqueue_due_jobs(now=start + timedelta(seconds=seconds))
    assert OUTBOX_SWEEP in enqueue_due_jobs(now=start + timedelta(seconds=15))
    assert PeriodicJobState.objects.get(name=OUTBOX_SWEEP).run_count == 2


def test_a_second_scheduler_that_read_the_same_due_time_does_not_enqueue_again(db):
    now = shanghai(2, 9)
    enqueue_due_jobs(now=now)
    later = now + timedelta(seconds=15)
    job = next(job for job in periodic_jobs() if job.task_path == OUTBOX_SWEEP)
    seen = PeriodicJobState.objects.get(name=OUTBOX_SWEEP).next_run_at  # both schedulers read this

    assert scheduler._claim_and_enqueue(job, seen_next_run_at=seen, now=later) is True
    assert scheduler._claim_and_enqueue(job, seen_next_run_at=seen, now=later) is False
    assert PeriodicJobState.objects.get(name=OUTBOX_SWEEP).run_count == 2


def test_a_restarted_scheduler_does_not_run_todays_daily_job_again(db):
    enqueue_due_jobs(now=shanghai(1, 9))  # the rows exist; the purge is due at 03:00 on the 2nd
    assert PURGE in enqueue_due_jobs(now=shanghai(2, 3, 0))
    # A scheduler restarted at 03:05 reads the same row and finds tomorrow's time there.
    assert PURGE not in enqueue_due_jobs(now=shanghai(2, 3, 5))
    purge = PeriodicJobState.objects.get(name=PURGE)
    assert purge.run_count == 1
    assert purge.next_run_at == shanghai(3, 3)


def test_a_daily_job_missed_while_down_runs_once_when_the_scheduler_is_back(db):
    enqueue_due_jobs(now=shanghai(1, 9))
    # Down from the 1st to 09:00 on the 4th: three 03:00s missed, one run.
    assert PURGE in enqueue_due_jobs(now=shanghai(4, 9))
    assert PURGE not in enqueue_due_jobs(now=shanghai(4, 9, 1))
    purge = PeriodicJobState.objects.get(name=PURGE)
    assert (purge.run_count, purge.next_run_at) == (1, shanghai(5, 3))


def test_a_changed_schedule_counts_from_the_change(db, settings):
    enqueue_due_jobs(now=shanghai(2, 9))
    settings.SCHEDULER_INTERVAL_SECONDS = 2
    enqueue_due_jobs(now=shanghai(2, 9, 1))
    sweep = PeriodicJobState.objects.get(name=OUTBOX_SWEEP)
    assert sweep.schedule == "every:2s"
    assert sweep.next_run_at == shanghai(2, 9, 1)
    assert OUTBOX_SWEEP in enqueue_due_jobs(now=shanghai(2, 9, 1))
    # The daily jobs keep their hour.
    assert PeriodicJobState.objects.get(name=PURGE).schedule == "cron:0 3 * * *"


def test_a_job_that_cannot_be_enqueued_does_not_stop_the_others(db, caplog):
    register_periodic("core.tasks.no_such_task", 60)
    try:
        enqueued = enqueue_due_jobs(now=shanghai(2, 9))
    finally:
        scheduler._JOBS.pop("core.tasks.no_such_task")
    assert OUTBOX_SWEEP in enqueued
    assert "could not enqueue periodic job core.tasks.no_such_task" in caplog.text
    # Its claim rolled back with the failed enqueue: it is tried again next tick.
    assert PeriodicJobState.objects.get(name="core.tasks.no_such_task").run_count == 0


def test_register_periodic_is_idempotent_and_rejects_bad_schedules():
    register_periodic(OUTBOX_SWEEP, 15)  # what an AppConfig.ready() run twice does
    assert [job.task_path for job in periodic_jobs()].count(OUTBOX_SWEEP) == 1
    with pytest.raises(ImproperlyConfigured):
        register_periodic(OUTBOX_SWEEP, 30)
    with pytest.raises(ImproperlyConfigured):
        register_periodic("core.tasks.x", 60, cron="0 3 * * *")
    with pytest.raises(ImproperlyConfigured):
        register_periodic("core.tasks.x")
    with pytest.raises(ImproperlyConfigured):
        register_periodic("core.tasks.x", cron="0 25 * * *")
    assert "core.tasks.x" not in [job.task_path for job in periodic_jobs()]
