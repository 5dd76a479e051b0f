"""The outbox sweep: re-enqueue messages whose delivery was lost (a killed worker, a failed enqueue).

    python manage.py deliver_outbox --loop            # every 5 s, next to `manage.py db_worker`
    python manage.py deliver_outbox --send            # send due messages in this process, once
    python manage.py deliver_outbox --stats           # rows per status; `unknown` = maybe delivered

The loop carries on by itself after a database restart or outage (core/outage.py).
"""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from core.outage import RECOVERABLE_DB_ERRORS, DatabaseOutage
from notifications import delivery, queries

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "补发待发送的微信订阅消息（定期扫描，重新排队超时或丢失的发送任务）"

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep sweeping every --interval seconds")
        parser.add_argument("--interval", type=float, default=5.0)
        parser.add_argument("--grace", type=float, default=30.0, help="seconds a due row is left to its own task")
        parser.add_argument("--send", action="store_true", help="send due rows here instead of enqueueing tasks")
        parser.add_argument("--stats", action="store_true", help="print outbox rows per status and exit")

    def handle(self, *args, loop: bool, interval: float, grace: float, send: bool, stats: bool, **options):
        if stats:
            counts = queries.outbox_status_counts()
            for status, count in counts.items():
                self.stdout.write(f"{status}: {count}")
            if counts["unknown"]:
                logger.warning("outbox: %d message(s) with unknown outcome (never retried)", counts["unknown"])
            return
        outage = DatabaseOutage("deliver_outbox")
        while True:
            # A loop lives for days: drop a connection a database restart broke, like a request would.
            close_old_connections()
            try:
                self.sweep_once(send=send, grace=grace)
            except RECOVERABLE_DB_ERRORS as exc:
                if not loop:
                    raise
                self.pause(outage.failed(exc))
                continue
            outage.recovered()
            if not loop:
                return
            self.pause(interval)

    def sweep_once(self, *, send: bool, grace: float) -> None:
        if send:
            report = delivery.deliver_due()
            if report.claimed:
                self.stdout.write(f"sent batch: {report.outcomes}")
        else:
            ids = delivery.sweep(grace_seconds=grace)
            if ids:
                self.stdout.write(f"re-enqueued {len(ids)} outbox message(s)")

    def pause(self, seconds: float) -> None:
        try:
            time.sleep(seconds)
        except KeyboardInterrupt:
            raise SystemExit(0) from None
