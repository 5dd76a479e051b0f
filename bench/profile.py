"""Profile one endpoint in-process against a database (a kept Baoshan cluster, typically).

    DATABASE_URL=postgres://postgres@127.0.0.1:55410/shequtong \\
        python bench/profile.py feed|ceiling|create|queue|street|district|matter_create|matter_queue|matter_overdue \\
            [--requests 200] [--html out.html]

Runs with the bench's production environment (bench/stack.py production_env, DEBUG off),
Django's test client and no server, so the figures are the application's own cost per
request: wall time per request, SQL statements and SQL time per request (captured on a
separate pass), and a pyinstrument profile of the timed pass. Use it to see where a
load.py row spends its time; the load figures themselves come from load.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["feed", "ceiling", "create", "street", "district", "queue", "matter_create", "matter_queue", "matter_overdue"])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--html", help="write the pyinstrument profile here as HTML")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-cache", action="store_true", help="a dummy cache: measure the dashboards' computation")
    parser.add_argument("--show-sql", type=int, default=0, help="print the last request's statements, cut to N chars")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N",
                        help="instead of pyinstrument, cProfile the timed pass and print the N functions of most own time")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the last request's slowest statement")
    args = parser.parse_args()

    from bench.stack import production_env

    database_url = os.environ["DATABASE_URL"]
    env = production_env(
        database_url=database_url, redis_url=os.environ.get("REDIS_URL", ""), wechat_base="http://127.0.0.1:1/"
    )
    os.environ.update({**env, "BENCH": "true", "THROTTLE_SERVICE_REQUEST": "1000000/min", "THROTTLE_MATTER": "1000000/min"})
    import django

    django.setup()
    if args.no_cache:
        from django.test.utils import override_settings

        override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}).enable()
    from django.db import connection
    from django.test import Client

    from bench import prepare

    neighborhood = prepare.busiest_neighborhood()
    street, district = neighborhood.parent, neighborhood.parent.parent
    from residents.models import Role

    if args.target in ("street", "district"):
        from bench import dashboards

        holder = prepare.role_holder(
            Role.Kind.STREET_OFFICER if args.target == "street" else Role.Kind.DISTRICT_ADMIN,
            street if args.target == "street" else district,
        )
        scenario = dashboards.scenario(holder, args.target, street if args.target == "street" else district, str)
    elif args.target == "create":
        from bench import service_bodies

        scenario = service_bodies.create_scenario(neighborhood, 50, prepare.bearer)
    elif args.target == "queue":
        from bench import service_bodies

        staff = prepare.role_holder(Role.Kind.COMMITTEE_STAFF, neighborhood)
        scenario = service_bodies.staff_queue_scenario(staff, neighborhood, prepare.bearer)
    elif args.target.startswith("matter_"):
        # The issue-17 rows of bench/load.py, from the same scenarios (bench/matter_bodies.py).
        from bench import matter_bodies

        if args.target == "matter_create":
            scenario = matter_bodies.create_scenario(neighborhood, 50, prepare.bearer)
        elif args.target == "matter_queue":
            scenario = matter_bodies.unit_queue_scenario(neighborhood, prepare.bearer)
        else:
            officer = prepare.role_holder(Role.Kind.STREET_OFFICER, street)
            scenario = matter_bodies.officer_overdue_scenario(officer, street, prepare.bearer)
        if not scenario["available"]:
            sys.exit(scenario["reason"])
    else:
        resident = prepare.resident_of(neighborhood)
        path = f"/api/v1/neighborhoods/{neighborhood.id}/feed?limit=20" if args.target == "feed" else "/api/v1/bench/ceiling"
        scenario = {"requests": [["GET", path, prepare.bearer(resident), "", "0"]]}
    rows = scenario["requests"]
    client = Client(HTTP_HOST="127.0.0.1")

    def one(i: int):
        method, path, auth, body, idem = rows[i % len(rows)]
        name, value = auth.split(":", 1)
        headers = {name.strip(): value.strip()}
        if idem == "1":
            headers["Idempotency-Key"] = f"profile-{time.time_ns()}-{i}"
        if method == "GET":
            response = client.get(path, headers=headers)
        else:
            response = client.generic(method, path, body, content_type="application/json", headers=headers)
        assert response.status_code < 300, (response.status_code, response.content[:300])

    for i in range(10):  # warm caches and connections
        one(i)
    captured: list[tuple[str, float, object]] = []  # statement, ms, parameters

    def timed(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            captured.append((sql, (time.perf_counter() - t) * 1000, params))

    with connection.execute_wrapper(timed):
        for i in range(20):
            one(i)
    sql_ms = sum(ms for _sql, ms, _params in captured) / 20
    if args.show_sql:
        for sql, ms, _params in captured[-len(captured) // 20 :]:
            print(f"{ms:7.2f} ms  {sql[:args.show_sql]}")
    if args.explain:
        start = len(captured) - len(captured) // 20
        sql, _ms, params = max(captured[start:], key=lambda row: row[1])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join(row[0] for row in cursor.fetchall()))
    n = args.requests
    profiler = None
    if args.cprofile:
        here = str(Path(__file__).resolve().parent)  # this file's name shadows the library's `profile`
        sys.path[:] = [entry for entry in sys.path if str(Path(entry or ".").resolve()) != here]
        sys.modules.pop("profile", None)
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    elif not args.no_profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    each = []
    for i in range(n):
        t = time.perf_counter()
        one(i)
        each.append((time.perf_counter() - t) * 1000)
    wall = (time.perf_counter() - t0) * 1000 / n
    # This process's CPU alone: on a shared machine, wall time also counts other people's work.
    cpu = (time.process_time() - cpu0) * 1000 / n
    each.sort()
    print(f"p50 {each[n // 2]:.1f} ms, p99 {each[min(n - 1, int(n * 0.99))]:.1f} ms, max {each[-1]:.1f} ms")
    if args.cprofile:
        profiler.disable()
    elif profiler:
        profiler.stop()
    print(f"{args.target}: {wall:.2f} ms per request (wall, in-process; {cpu:.2f} ms of this process's CPU), {len(captured) / 20:.1f} SQL "
          f"statements and {sql_ms:.2f} ms SQL per request")
    if args.cprofile:
        import pstats

        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
    elif profiler:
        if args.html:
            Path(args.html).write_text(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
