"""The scheduler, a task worker and the outbox sweep, as real processes on a PostgreSQL
that is stopped for longer than the connection pool waits and started again under them.

Runs where DATABASE_URL is PostgreSQL (CI's second pass). It starts a throwaway cluster
of its own (bench/stack.py) rather than restarting the one the rest of the suite uses.
Intervals are shortened to 2 s (SCHEDULER_INTERVAL_SECONDS) so it takes well under a minute
after the cluster is migrated.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bench.stack import PGBIN, Stack, _as_postgres, production_env
from core.scheduler import periodic_jobs

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="needs DATABASE_URL=postgres://… (CI's PostgreSQL pass)",
    ),
]

PERIOD = 2  # seconds, every interval job (SCHEDULER_INTERVAL_SECONDS)
OUTAGE = 7  # seconds PostgreSQL is down: longer than the pool's 5 s wait for a connection
INTERVAL_JOBS = sorted(job.task_path for job in periodic_jobs() if job.every_seconds)
PURGE = "privacy.tasks.purge_expired_sensitive_data"


def wait_until(check, what: str, timeout: float, stack: Stack):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        result = check()
        if result:
            return result
        time.sleep(0.2)
    logs = "\n".join(f"--- {name}\n{stack.tail(name, 1500)}" for name in stack.logs)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s\n{logs}")


@pytest.fixture(scope="module")
def cluster():
    # A folder of its own: stq-bench.* folders are cleaned up by benchmark runs.
    stack = Stack(workdir=Path(tempfile.mkdtemp(prefix="stq-sched-test.")))
    try:
        database_url = stack.start_postgres()
        env = production_env(
            database_url=database_url,
            redis_url="",
            wechat_base="http://127.0.0.1:1/",
            extra={"SCHEDULER_INTERVAL_SECONDS": str(PERIOD), "SCHEDULER_TICK_SECONDS": "0.2"},
        )
        stack.manage("migrate", "-v0", env=env, timeout=300)
        yield stack, env
    finally:
        stack.stop()
        shutil.rmtree(stack.workdir, ignore_errors=True)


def connect(env: dict[str, str]) -> psycopg.Connection:
    return psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://"), autocommit=True)


def job_states(db) -> dict[str, tuple[int, datetime | None]]:
    return {
        name: (count, last)
        for name, count, last in db.execute("SELECT name, run_count, last_run_at FROM core_periodicjobstate").fetchall()
    }


def enqueue_times(db) -> dict[str, list[datetime]]:
    times: dict[str, list[datetime]] = {}
    for path, at in db.execute(
        "SELECT task_path, enqueued_at FROM django_tasks_database_dbtaskresult ORDER BY enqueued_at"
    ).fetchall():
        times.setdefault(path, []).append(at)
    return times


def restart_postgres(stack: Stack) -> datetime:
    """Stop, wait OUTAGE seconds, start again; return when it accepts connections again."""
    _as_postgres(f"{PGBIN}/pg_ctl -D '{stack.pgdata}' -m fast -w stop")
    stack.pg_started = False
    time.sleep(OUTAGE)
    stack.start_postgres(pgdata=stack.pgdata, port=stack.pg_port)
    return datetime.now(UTC)


def test_scheduler_and_worker_carry_on_after_postgres_restart_and_two_schedulers_enqueue_once(cluster):
    stack, env = cluster
    for name in ("scheduler-a", "scheduler-b"):
        stack.spawn(name, [sys.executable, "manage.py", "run_scheduler"], env=env)
    stack.start_workers(env, 1)
    stack.spawn("outbox-sweep", [sys.executable, "manage.py", "deliver_outbox", "--loop", "--interval", "0.5"], env=env)

    with connect(env) as db:
        wait_until(
            lambda: (s := job_states(db)) and all(s.get(p, (0,))[0] >= 2 for p in INTERVAL_JOBS),
            "every interval job running twice",
            60,
            stack,
        )

    back = restart_postgres(stack)

    with connect(env) as db:
        # Every interval job runs again within a period (plus the backoff) of the database's return.
        def all_ran_again():
            states = job_states(db)
            return all((states[p][1] or back) > back for p in INTERVAL_JOBS) and states

        states = wait_until(all_ran_again, "every interval job running after the restart", 15, stack)
        first = min(states[p][1] for p in INTERVAL_JOBS) - back
        last = max(states[p][1] for p in INTERVAL_JOBS) - back
        print(f"\nrestart → first job enqueued {first.total_seconds():.1f} s, all {last.total_seconds():.1f} s")

        # db_worker is still there and runs what was enqueued after the restart.
        def worker_ran_new_tasks():
            done = db.execute(
                "SELECT DISTINCT task_path FROM django_tasks_database_dbtaskresult"
                " WHERE enqueued_at > %s AND status = 'SUCCESSFUL'",
                (back,),
            ).fetchall()
            return {path for (path,) in done} >= set(INTERVAL_JOBS)

        wait_until(worker_ran_new_tasks, "db_worker running tasks enqueued after the restart", 20, stack)

        # Two schedulers, one enqueue per job per period, before and after the restart.
        times = enqueue_times(db)
        for path in INTERVAL_JOBS:
            gaps = [(b - a).total_seconds() for a, b in zip(times[path], times[path][1:], strict=False)]
            # A run is dated when claimed, its task row a moment later: allow for that moment.
            assert min(gaps) >= PERIOD - 0.5, (path, gaps)
        shortest = min(b - a for t in times.values() for a, b in zip(t, t[1:], strict=False)).total_seconds()
        print(
            f"two schedulers: {sum(map(len, times.values()))} enqueues of {len(times)} jobs;"
            f" shortest gap between two enqueues of one job {shortest:.2f} s (period {PERIOD} s)"
        )

    stack.check_alive()
    # A process whose connection pool rode the outage out (its wait outlasted it) saw no error;
    # one that saw the outage must have said it ended. At least one of them saw it.
    names = ("scheduler-a", "scheduler-b", "db_worker-1", "outbox-sweep")

    def each_outage_ended():
        logs = {name: stack.full_log(name) for name in names}
        return all("database back after" in log for log in logs.values() if "database unavailable" in log) and logs

    # A process may be in its last backoff (at most 5 s) when the others are already back.
    logs = wait_until(each_outage_ended, "every process that saw the outage saying it ended", 15, stack)
    assert any("database back after" in log for log in logs.values()), "no process saw the outage"


def test_a_restarted_scheduler_does_not_run_todays_daily_job_again(cluster):
    stack, env = cluster
    with connect(env) as db:
        count = "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path = %s"
        (before,) = db.execute(count, (PURGE,)).fetchone()
        # Today's 03:00 has passed and the purge has not run yet (any scheduler still running may take it).
        db.execute(
            "UPDATE core_periodicjobstate SET next_run_at = %s, run_count = 0 WHERE name = %s",
            (datetime.now(UTC) - timedelta(hours=1), PURGE),
        )

        stack.manage("run_scheduler", "--once", env=env, timeout=60)
        stack.manage("run_scheduler", "--once", env=env, timeout=60)  # the same scheduler, restarted

        run_count, next_run_at = db.execute(
            "SELECT run_count, next_run_at FROM core_periodicjobstate WHERE name = %s", (PURGE,)
        ).fetchone()
        (after,) = db.execute(count, (PURGE,)).fetchone()
    assert (run_count, after - before) == (1, 1)
    # Next at 03:00 Shanghai, 19:00 UTC, within a day.
    assert next_run_at.astimezone(UTC).hour == 19
    assert timedelta(0) < next_run_at - datetime.now(UTC) <= timedelta(days=1)
