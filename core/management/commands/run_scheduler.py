"""Enqueue the periodic tasks of core.scheduler on their intervals (make run starts one)."""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from core.scheduler import PERIODIC_JOBS

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "按间隔把定时任务放入任务队列（由 db_worker 执行）"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="enqueue every job once and exit")
        parser.add_argument(
            "--max-interval",
            type=int,
            default=None,
            help="cap every job's period at this many seconds (the fault tests run a day's jobs every few seconds)",
        )

    def handle(self, *args, once: bool = False, max_interval: int | None = None, **options):
        next_run = {job: 0.0 for job in PERIODIC_JOBS}
        while True:
            now = time.monotonic()
            for job in list(PERIODIC_JOBS):
                if next_run.setdefault(job, 0.0) <= now:
                    try:
                        import_string(job.task_path).enqueue()
                    except Exception:
                        logger.exception("could not enqueue %s", job.task_path)
                    every = min(job.every_seconds, max_interval) if max_interval else job.every_seconds
                    next_run[job] = now + every
            if once:
                return
            time.sleep(1)
