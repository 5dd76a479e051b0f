"""Enqueue the periodic jobs of core.scheduler when they fall due (make run starts one).

Any number may run: each job runs once per period cluster-wide (core.scheduler). A
database restart or outage pauses it; it carries on by itself when the database is back.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from core.outage import RECOVERABLE_DB_ERRORS, DatabaseOutage
from core.scheduler import enqueue_due_jobs


class Command(BaseCommand):
    help = "把到期的定时任务放入任务队列（由 db_worker 执行）；可同时运行多个"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="enqueue the jobs due now and exit")
        parser.add_argument(
            "--tick", type=float, default=None, help="seconds between checks (default: SCHEDULER_TICK_SECONDS)"
        )

    def handle(self, *args, once: bool = False, tick: float | None = None, **options):
        tick = tick if tick is not None else settings.SCHEDULER_TICK_SECONDS
        outage = DatabaseOutage("run_scheduler")
        while True:
            # Like a request would: drop a connection that broke or outlived CONN_MAX_AGE.
            close_old_connections()
            try:
                enqueue_due_jobs()
            except RECOVERABLE_DB_ERRORS as exc:
                if once:
                    raise
                time.sleep(outage.failed(exc))
                continue
            outage.recovered()
            if once:
                return
            time.sleep(tick)
