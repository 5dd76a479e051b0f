"""Recompute the dashboard snapshots: today by default, or every day from --since to today (backfill)."""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from console.snapshots import refresh_since


class Command(BaseCommand):
    help = "重新计算数据看板日快照（默认今天；--since 起补算到今天）"

    def add_arguments(self, parser):
        parser.add_argument("--since", help="first day to recompute (YYYY-MM-DD)")
        parser.add_argument("--until", help="last day (default today)")

    def handle(self, *args, since: str | None, until: str | None, **options):
        try:
            first = date.fromisoformat(since) if since else timezone.localdate()
            last = date.fromisoformat(until) if until else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"日期格式应为 YYYY-MM-DD：{exc}") from exc
        started = time.monotonic()

        def progress(a, b):
            if options["verbosity"] > 1:
                self.stderr.write(f"  {a} … {b}")

        rows = refresh_since(first, last, progress=progress)
        self.stdout.write(f"dashboard snapshots {first}..{last}: {rows} rows in {time.monotonic() - started:.1f}s")
