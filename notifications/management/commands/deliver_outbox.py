"""The outbox sweep: re-enqueue messages whose delivery was lost (a killed worker, a failed enqueue).

    python manage.py deliver_outbox --loop            # every 5 s, next to `manage.py db_worker`
    python manage.py deliver_outbox --send            # send due messages in this process, once
    python manage.py deliver_outbox --stats           # rows per status; `unknown` = maybe delivered
"""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand

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
        while True:
            if send:
                report = delivery.deliver_due()
                if report.claimed:
                    self.stdout.write(f"sent batch: {report.outcomes}")
            else:
                ids = delivery.sweep(grace_seconds=grace)
                if ids:
                    self.stdout.write(f"re-enqueued {len(ids)} outbox message(s)")
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
