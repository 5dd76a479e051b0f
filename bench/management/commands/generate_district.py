"""Fill the database with a district at Baoshan scale (or a small one for tests).

    python manage.py generate_district --scale baoshan --seed 1 --flush

The work is in bench/generate/ (one module per app, COPY on PostgreSQL); this command
parses options, guards against writing over real data, and records what it made.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench.generate import SCALES, SHANGHAI, World
from bench.generate.loader import Loader, restore_fk_checks, skip_fk_checks
from bench.generate.sections import SECTIONS
from bench.generate.snapshots import backfill_snapshots
from residents.models import Region

DISTRICT_CODE = "310113000000"


class Command(BaseCommand):
    help = "生成压测用的区级数据（--scale baoshan 为宝山区规模，small 用于测试）"

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--now", help="the generated history ends at this date (YYYY-MM-DD, Asia/Shanghai); default today"
        )
        parser.add_argument("--flush", action="store_true", help="empty every table first (destroys all data)")
        parser.add_argument(
            "--check", action="store_true", help="print present/absent for this scale and seed, write nothing"
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bars")

    def handle(self, *args, scale: str, seed: int, now: str | None, flush: bool, check: bool, quiet: bool, **options):
        marker = {"scale": scale, "seed": seed}
        district = Region.objects.filter(code=DISTRICT_CODE).first()
        if check:
            present = (
                district is not None
                and (district.settings or {}).get("generated", {}).get("scale") == scale
                and (district.settings["generated"].get("seed") == seed)
            )
            self.stdout.write("present" if present else "absent")
            return
        if Region.objects.exists():
            if not flush:
                raise CommandError("数据库中已有区域数据；如确定要清空后重新生成，请加 --flush")
            if connection.vendor == "postgresql":
                # Inside an outer transaction (tests), pending deferred FK checks block TRUNCATE.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            call_command("flush", interactive=False, verbosity=0)
        day = dt.date.fromisoformat(now) if now else dt.datetime.now(SHANGHAI).date()
        world = World(scale=SCALES[scale], seed=seed, now=dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI))
        # The database is empty here (or was flushed): nobody reads it while indexes are rebuilt.
        loader = Loader(progress_stream=sys.stderr, quiet=quiet, defer_indexes=True)
        started = time.monotonic()
        fk_off = skip_fk_checks()
        try:
            for name, available, run in SECTIONS:
                reason = available()
                if reason:
                    self.stderr.write(f"  skip {name}: {reason}")
                    continue
                t0 = time.monotonic()
                run(loader, world)
                self.stderr.write(f"  {name} done in {time.monotonic() - t0:.1f}s")
        finally:
            if fk_off:
                restore_fk_checks()
            t0 = time.monotonic()
            loader.rebuild_indexes()
            self.stderr.write(f"  indexes rebuilt in {time.monotonic() - t0:.1f}s")
        t0 = time.monotonic()
        loader.reset_sequences()
        loader.analyze()
        self.stderr.write(f"  sequences and statistics done in {time.monotonic() - t0:.1f}s")
        # The dashboards read snapshots (console/snapshots.py): the generated history's, computed
        # as the refresh job computes them and copied into the empty tables (bench/generate/snapshots.py).
        t0 = time.monotonic()
        first_day = world.start().astimezone(SHANGHAI).date() - dt.timedelta(days=1)
        snapshot_loader = Loader(progress_stream=sys.stderr, quiet=quiet, defer_indexes=True)
        written = backfill_snapshots(snapshot_loader, first_day, day)
        snapshot_loader.rebuild_indexes()
        snapshot_loader.reset_sequences()
        snapshot_loader.analyze()
        world.counts.update({f"snapshot_{table.removeprefix('console_')}": n for table, n in written.items()})
        self.stderr.write(f"  dashboard snapshots done in {time.monotonic() - t0:.1f}s")
        elapsed = time.monotonic() - started
        district = Region.objects.get(code=DISTRICT_CODE)
        district.settings = {
            **(district.settings or {}),
            "generated": {**marker, "now": day.isoformat(), "counts": world.counts, "seconds": round(elapsed)},
        }
        district.save(update_fields=["settings"])
        self.stdout.write(
            f"generated scale={scale} seed={seed} on {connection.vendor} in {elapsed:.0f}s: "
            + ", ".join(f"{k}={v:,}" for k, v in world.counts.items())
        )
