"""The dashboards' read path at Baoshan shape in a minute, without the 44-minute generator.

    DATABASE_URL=postgres://…/empty_db BENCH=true python bench/snapshot_shape.py [--days 1096]
    DATABASE_URL=postgres://…/empty_db python bench/profile.py street|district --no-cache

A fresh dashboard reads only the region tree and the snapshot tables (console/figures.py), so
their shape is what its cost depends on. This fills a migrated, empty PostgreSQL database with
Baoshan's region tree (宝山区, 12 街道/镇, 550 居委/村) and `--days` of snapshot rows at the
generator's magnitudes — one NeighborhoodDaySnapshot per neighborhood and day, service rows
for about a quarter of neighborhood-days, three post-response histogram buckets and about one
service bucket per such row, matter cases on about a third (one grid unit per street), each street's rows as its
neighborhoods' sums as the refresh writes them — with random counts, plus a street officer and
a district admin, and one approved resident per neighborhood (bench/prepare.py picks the
busiest neighborhood from memberships). The figures are meaningless; the row counts, indexes
and plans are the point. PostgreSQL only (generate_series).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NEIGHBORHOODS, STREETS = 550, 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=1096)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from cases.models import ResponsibleUnit
    from residents.models import Membership, Region, Role, User

    assert connection.vendor == "postgresql", "PostgreSQL only"
    assert not Region.objects.exists(), "needs an empty, migrated database"
    t0 = time.monotonic()
    with transaction.atomic():
        district = Region.objects.create(level=Region.Level.DISTRICT, code="310113000000", name="宝山区")
        neighborhoods: list[Region] = []
        for s in range(STREETS):
            street = Region.objects.create(
                level=Region.Level.STREET, parent=district, code=f"310113{s + 1:03d}000", name=f"街道{s + 1}"
            )
            per = NEIGHBORHOODS // STREETS + (1 if s < NEIGHBORHOODS % STREETS else 0)
            ResponsibleUnit.objects.create(name=f"街道{s + 1}城运中心网格", kind=ResponsibleUnit.Kind.GRID, region=street)
            neighborhoods += Region.objects.bulk_create(
                Region(
                    level=Region.Level.NEIGHBORHOOD, parent=street, code=f"310113{s + 1:03d}{n + 1:03d}",
                    name=f"居委{s + 1}-{n + 1}", households=700 + (n * 37) % 500, population=1800 + (n * 91) % 1200,
                    registered_party_members=60 + n % 40,
                )
                for n in range(per)
            )
        officer = User.objects.create(username="shape-officer")
        admin = User.objects.create(username="shape-admin")
        busiest_street = neighborhoods[0].parent_id
        Role.objects.create(user=officer, region_id=busiest_street, kind=Role.Kind.STREET_OFFICER)
        Role.objects.create(user=admin, region=district, kind=Role.Kind.DISTRICT_ADMIN)
        now = timezone.now()
        for i, nb in enumerate(neighborhoods):
            user = User.objects.create(username=f"shape-resident-{i}")
            Membership.objects.create(
                user=user, neighborhood=nb, status=Membership.Status.APPROVED, is_current=True, decided_at=now
            )
        # The first neighborhood has the most members, so bench/prepare.py picks it.
        for i in range(3):
            user = User.objects.create(username=f"shape-extra-{i}")
            Membership.objects.create(
                user=user, neighborhood=neighborhoods[0], status=Membership.Status.APPROVED, decided_at=now
            )
    print(f"regions and people in {time.monotonic() - t0:.1f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2026)")
        for label, sql in _statements(args.days):
            t = time.monotonic()
            cursor.execute(sql)
            print(f"  {label}: {cursor.rowcount:,} rows in {time.monotonic() - t:.1f}s", flush=True)
        cursor.execute("ANALYZE")
    print(f"done in {time.monotonic() - t0:.0f}s")


def _statements(days: int) -> list[tuple[str, str]]:
    nb = "SELECT id, parent_id FROM residents_region WHERE level = 'neighborhood'"
    span = f"(SELECT g::date AS d FROM generate_series(current_date - {days - 1}, current_date, interval '1 day') g)"
    street_sum = (
        "INSERT INTO {table} (neighborhood_id, {keys}, {sums}, refreshed_at) "
        "SELECT r.parent_id, {tkeys}, {tsums}, now() FROM {table} t "
        "JOIN residents_region r ON r.id = t.neighborhood_id AND r.level = 'neighborhood' GROUP BY r.parent_id, {tkeys}"
    )

    def rollup(table: str, keys: list[str], sums: list[str]) -> str:
        return street_sum.format(
            table=table, keys=", ".join(keys), sums=", ".join(sums),
            tkeys=", ".join(f"t.{k}" for k in keys), tsums=", ".join(f"SUM(t.{s})" for s in sums),
        )

    daily = ["households_joined", "residents_joined", "party_members", "posts", "posts_answered", "topics_proposed",
             "topics_discussed", "topics_voted", "topics_passed", "topics_implemented", "topics_evaluated"]
    service = ["requests", "completed", "overdue", "rated", "satisfied"]
    return [
        ("neighborhood days", f"""
            INSERT INTO console_neighborhooddaysnapshot (neighborhood_id, day, {", ".join(daily)}, refreshed_at)
            SELECT n.id, d, 600 + (d - current_date + {days}), 1500 + (d - current_date + {days}), 40,
                   (random() * 16)::int, (random() * 12)::int, (random() < 0.01)::int, 0, 0, 0, 0, 0, now()
            FROM ({nb}) n CROSS JOIN {span} days"""),
        ("service days", f"""
            INSERT INTO console_servicedaysnapshot (neighborhood_id, day, category_id, {", ".join(service)}, refreshed_at)
            SELECT n.id, d, 1 + (random() * 8)::int, 1, (random() < 0.9)::int, (random() < 0.05)::int,
                   (random() < 0.6)::int, (random() < 0.5)::int, now()
            FROM ({nb}) n CROSS JOIN {span} days WHERE random() < 0.25
            ON CONFLICT DO NOTHING"""),
        ("post-response buckets", f"""
            INSERT INTO console_durationhistogram (neighborhood_id, day, metric, category_id, bucket, count, refreshed_at)
            SELECT n.id, d, 'post_response', 0, b * 40 + (random() * 39)::int, 1 + (random() * 4)::int, now()
            FROM ({nb}) n CROSS JOIN {span} days CROSS JOIN generate_series(0, 2) b"""),
        ("service buckets", """
            INSERT INTO console_durationhistogram (neighborhood_id, day, metric, category_id, bucket, count, refreshed_at)
            SELECT s.neighborhood_id, s.day, m, s.category_id, (random() * 250)::int, 1, now()
            FROM console_servicedaysnapshot s CROSS JOIN unnest(ARRAY['service_accept', 'service_complete']) m
            ON CONFLICT DO NOTHING"""),
        ("case days", f"""
            INSERT INTO console_casedaysnapshot (neighborhood_id, day, unit_id, street_id, finished, closed_loops, refreshed_at)
            SELECT n.id, d, u.id, n.parent_id, 1 + (random() * 2)::int, (random() < 0.7)::int, now()
            FROM ({nb}) n CROSS JOIN {span} days
            JOIN LATERAL (SELECT id FROM cases_responsibleunit WHERE region_id = n.parent_id LIMIT 1) u ON true
            WHERE random() < 0.33"""),
        ("street rows: days", rollup("console_neighborhooddaysnapshot", ["day"], daily)),
        ("street rows: services", rollup("console_servicedaysnapshot", ["day", "category_id"], service)),
        ("street rows: buckets", rollup("console_durationhistogram", ["day", "metric", "category_id", "bucket"], ["count"])),
    ]


if __name__ == "__main__":
    main()
