"""Was each piece of hand-written SQL on the one-tap create worth keeping? ORM against raw, same run.

    git worktree add --detach /tmp/raw-sql $(git log --diff-filter=A --format=%h -- bench/raw_sql_gain.py)
    cd /tmp/raw-sql && DATABASE_URL=postgres://… python bench/raw_sql_gain.py [--creates 400]

Run with the bench's production settings (bench/stack.py production_env: DEBUG off), Django's
test client and no server, as bench/profile.py.

Issue 16 keeps raw SQL only where a measurement shows it pays (≥ 10 % on its endpoint's row).
The one-tap create (`POST /api/v1/service-requests`) carried three pieces:

- `pair`: `core.insert.insert_pair`, the request and its "created" timeline event in one
  `WITH … INSERT` statement (PostgreSQL only; elsewhere it was two `save()` calls already);
- `one`: `core.insert.insert_one`, the idempotency record INSERTed with SQL built once per
  model instead of `save()`;
- `beneficiary`: `services.actions._live_beneficiary`, the elder-with-neighborhood lookup as a
  `raw()` query instead of `select_related`.

In one process, against one database (filled with `generate_district --scale small --seed 1`
when it has no regions), this times N one-tap creates by a plain resident of the busiest
neighborhood who has a default elder, with the code as it was (`raw`), with each piece alone
replaced by its ORM equivalent, and with all three replaced (`orm`), in interleaved blocks
whose order rotates, so every variant sees the same machine load; `raw again` times the
unchanged code a second time, to show the noise. It prints the median and mean ms per create,
statements per create, and each variant's median against `raw`'s. It needs the code that still
has the three pieces (the commit that added this script); on later commits it says so and
exits. The figures, and what was kept, are in bench/README.md ("Raw SQL, measured").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=300, help="creates per variant")
    parser.add_argument("--block", type=int, default=20)
    args = parser.parse_args()

    from bench.stack import production_env

    # The bench's production settings (DEBUG off: no query log), as bench/profile.py runs them.
    env = production_env(
        database_url=os.environ["DATABASE_URL"], redis_url=os.environ.get("REDIS_URL", ""),
        wechat_base="http://127.0.0.1:1/",
    )
    os.environ.update({**env, "THROTTLE_SERVICE_REQUEST": "1000000/min"})  # one resident tapping fast
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import core.idempotency as idempotency
    import services.actions as service_actions
    from residents.models import ApiToken, Beneficiary, Membership, Region, Role
    from services.models import ServiceItem, ServiceRequest

    if not hasattr(service_actions, "_live_beneficiary") or not hasattr(idempotency, "insert_one"):
        sys.exit("this commit no longer has the raw pieces: run it on the commit before their removal")

    call_command("migrate", verbosity=0)
    if not Region.objects.exists():
        print("generating the small district (generate_district --scale small --seed 1)…", file=sys.stderr)
        call_command("generate_district", scale="small", seed=1, verbosity=0)
    from bench.prepare import busiest_neighborhood, delete_requests_after

    raw_pair, raw_one, raw_beneficiary = (
        service_actions.insert_pair, idempotency.insert_one, service_actions._live_beneficiary
    )

    def orm_pair(parent, child, fk):
        parent.save(force_insert=True)
        setattr(child, fk, parent)
        child.save(force_insert=True)

    def orm_one(obj):
        obj.save(force_insert=True)

    def orm_beneficiary(where: str, param: int):
        found = Beneficiary.objects.select_related("neighborhood").filter(deleted_at__isnull=True).order_by("pk")
        if where == "b.id = %s":
            return found.filter(pk=param).first()
        assert where == "b.owner_id = %s AND b.is_default", where
        return found.filter(owner_id=param, is_default=True).first()

    variants = {
        "raw": (raw_pair, raw_one, raw_beneficiary),
        "raw again": (raw_pair, raw_one, raw_beneficiary),  # the same code: the noise floor
        "orm pair": (orm_pair, raw_one, raw_beneficiary),
        "orm one": (raw_pair, orm_one, raw_beneficiary),
        "orm beneficiary": (raw_pair, raw_one, orm_beneficiary),
        "orm": (orm_pair, orm_one, orm_beneficiary),
    }

    def use(name: str) -> None:
        service_actions.insert_pair, idempotency.insert_one, service_actions._live_beneficiary = variants[name]

    neighborhood = busiest_neighborhood()
    elder = (
        Beneficiary.objects.filter(
            neighborhood=neighborhood, is_default=True, deleted_at__isnull=True,
            owner__memberships__neighborhood=neighborhood, owner__memberships__status=Membership.Status.APPROVED,
        )
        .exclude(owner_id__in=Role.objects.values_list("user_id", flat=True))
        .order_by("pk")
        .first()
    )
    if elder is None:
        sys.exit("no plain resident with a default elder in the busiest neighborhood")
    item = next(
        i for i in ServiceItem.objects.filter(is_active=True, who_may_ask="anyone", fields=[]).order_by("pk")
        if i.min_age <= elder.age
    )
    token = ApiToken.issue(elder.owner, user_agent="raw_sql_gain")[1]
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    last_id = ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def create() -> None:
        response = client.post(
            "/api/v1/service-requests", {"item": item.pk}, content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert response.status_code == 201, response.content[:300]

    statements = {}
    times: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for name in variants:  # warm every path; count its statements
            use(name)
            for _ in range(5):
                create()
            with CaptureQueriesContext(connection) as ctx:
                create()
            statements[name] = len(ctx.captured_queries)
        done, order = 0, list(variants)
        while done < args.creates:
            n = min(args.block, args.creates - done)
            # Each block starts with the next variant: a cost that drifts during the run (the
            # resident's requests pile up) falls on every variant alike.
            order = order[1:] + order[:1]
            for name in order:
                use(name)
                for _ in range(n):
                    start = time.perf_counter()
                    create()
                    times[name].append(time.perf_counter() - start)
            done += n
    finally:
        use("raw")
        delete_requests_after(last_id)
    # The median: other processes on a shared machine add spikes to some creates, not a drift.
    ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(json.dumps({
        "vendor": connection.vendor,
        "creates_per_variant": args.creates,
        "median_ms_per_create": {name: round(v, 2) for name, v in ms.items()},
        "mean_ms_per_create": {name: round(statistics.fmean(values) * 1000, 2) for name, values in times.items()},
        "statements_per_create": statements,
        "median_against_raw": {name: f"{(v / ms['raw'] - 1) * 100:+.1f} %" for name, v in ms.items() if name != "raw"},
    }, ensure_ascii=False, indent=1))

if __name__ == "__main__":
    main()
