"""In-process micro-benchmark of the feed (and the one-tap create) against the ceiling endpoint.

    /tmp/venv/bin/python bench/feed_micro.py [--requests 200] [--db /tmp/stq-feed-micro.sqlite3] [--fresh]

No server, no network: Django's test client, one process, a file SQLite database filled once
with `generate_district --scale small --seed 1` (kept between runs; --fresh rebuilds it). It
times N sequential GETs of the busiest neighborhood's feed page (20 posts) and of the bench
ceiling endpoint (same middleware and bearer authentication, constant body), alternating in
blocks so both see the same machine load, and prints the throughput ratio feed / ceiling (the
figure issue 8 sets targets on) plus SQL queries per request. With --creates it also times
one-tap creates (fresh Idempotency-Key each). Compare branches by running it on each, on the
same database file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", default="/tmp/stq-feed-micro.sqlite3")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--creates", type=int, default=0, help="also time this many one-tap creates")
    args = parser.parse_args()

    db = Path(args.db)
    if args.fresh and db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["BENCH"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if not db.exists():
        print(f"building {db} (migrate + generate_district --scale small --seed 1)…", file=sys.stderr)
        call_command("migrate", verbosity=0)
        call_command("generate_district", scale="small", seed=1, verbosity=0)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.prepare import busiest_neighborhood, resident_of
    from residents.models import ApiToken

    neighborhood = busiest_neighborhood()
    resident = resident_of(neighborhood)
    token = ApiToken.issue(resident, user_agent="feed_micro")[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    feed = f"/api/v1/neighborhoods/{neighborhood.pk}/feed?limit=20"
    ceiling = "/api/v1/bench/ceiling"

    def one(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, response.content[:300]

    for path in (feed, ceiling):  # warm caches, imports, the token's last_used_at
        for _ in range(5):
            one(path)
    with CaptureQueriesContext(connection) as ctx:
        one(feed)
    feed_queries = len(ctx.captured_queries)
    with CaptureQueriesContext(connection) as ctx:
        one(ceiling)
    ceiling_queries = len(ctx.captured_queries)
    n_posts = len(client.get(feed).json()["results"])

    totals = {feed: 0.0, ceiling: 0.0}
    block = 20
    done = 0
    while done < args.requests:
        n = min(block, args.requests - done)
        for path in (ceiling, feed):
            start = time.perf_counter()
            for _ in range(n):
                one(path)
            totals[path] += time.perf_counter() - start
        done += n
    feed_ms = totals[feed] / args.requests * 1000
    ceiling_ms = totals[ceiling] / args.requests * 1000
    result = {
        "requests": args.requests,
        "neighborhood": neighborhood.pk,
        "posts_per_page": n_posts,
        "ceiling_ms": round(ceiling_ms, 2),
        "feed_ms": round(feed_ms, 2),
        "feed_over_ceiling": round(ceiling_ms / feed_ms, 3),
        "feed_queries": feed_queries,
        "ceiling_queries": ceiling_queries,
    }
    if args.creates:
        result.update(_creates(client, neighborhood, resident, args.creates, ceiling_ms))
    print(json.dumps(result, ensure_ascii=False))
    print(
        f"feed page ({n_posts} posts): {feed_ms:.1f} ms, {feed_queries} queries; ceiling {ceiling_ms:.1f} ms "
        f"→ feed = {ceiling_ms / feed_ms:.2f}× the ceiling (in-process, {args.requests} requests each)"
    )


def _creates(client, neighborhood, resident, n: int, ceiling_ms: float) -> dict:
    import uuid

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from services.models import ServiceItem

    item = ServiceItem.objects.filter(is_active=True, who_may_ask="anyone", min_age=0, fields=[]).first()
    if item is None:
        return {"creates": "no item without extra fields/age limit in the catalog"}

    def one() -> None:
        response = client.post(
            "/api/v1/service-requests", {"item": item.pk}, content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert response.status_code == 201, response.content[:300]

    one()
    with CaptureQueriesContext(connection) as ctx:
        one()
    start = time.perf_counter()
    for _ in range(n):
        one()
    create_ms = (time.perf_counter() - start) / n * 1000
    return {"create_ms": round(create_ms, 2), "create_queries": len(ctx.captured_queries),
            "create_over_ceiling": round(ceiling_ms / create_ms, 3)}


if __name__ == "__main__":
    main()
