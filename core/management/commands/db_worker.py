"""django-tasks-db's `db_worker`, kept alive through a database restart.

Upstream's worker raises out of its loop on any database error but a locked SQLite
file, so the process exits when PostgreSQL restarts or is unreachable for longer than
the connection pool's timeout ("couldn't get a connection after 5.00 sec"), and tasks
enqueued afterwards wait for a human. This command (core comes before django_tasks_db
in INSTALLED_APPS, so it replaces upstream's) runs the same worker, and when the
database fails it closes the connection, waits with backoff and resumes the loop.

It also records a heartbeat (core/heartbeat.py) for /readyz, and runs each task with the
request id of the request that enqueued it in the logging context (core/task_backend.py).
"""

from __future__ import annotations

import time

from django.db import connection
from django_tasks_db.management.commands import db_worker as upstream

from core import heartbeat, request_context
from core.outage import RECOVERABLE_DB_ERRORS, DatabaseOutage
from core.task_backend import task_log_context


class OutageTolerantWorker(upstream.Worker):
    def run(self) -> None:
        # Here, not in handle(): with --reload only the child process runs tasks.
        stop = heartbeat.start(self.worker_id)
        try:
            return self._run_through_outages()
        finally:
            stop.set()
            heartbeat.stop_beating(self.worker_id)

    def run_task(self, db_task_result) -> None:
        tokens = request_context.bind(**task_log_context(db_task_result))
        try:
            super().run_task(db_task_result)
        finally:
            request_context.unbind(tokens)

    def _run_through_outages(self) -> None:
        outage = DatabaseOutage(f"db_worker {self.worker_id}")
        while self.running:
            try:
                return super().run()
            except RECOVERABLE_DB_ERRORS as exc:
                # A task interrupted here stays RUNNING in its row; the sweeps (outbox,
                # re-checks) pick up the work it left, since every task is safe to repeat.
                time.sleep(outage.failed(exc))
            while self.running:
                try:
                    connection.ensure_connection()
                    break
                except RECOVERABLE_DB_ERRORS as exc:
                    time.sleep(outage.failed(exc))
            outage.recovered()
        return None


class Command(upstream.Command):
    def handle(self, *args, **options) -> None:
        # Upstream's handle builds its Worker by name from its module; hand it ours.
        # The swap is for this call only, and this process runs no other command.
        original, upstream.Worker = upstream.Worker, OutageTolerantWorker
        try:
            super().handle(*args, **options)
        finally:
            upstream.Worker = original
