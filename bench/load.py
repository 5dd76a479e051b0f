"""Load harness: the production-like stack on loopback, driven by wrk, measured against
the framework's own ceiling in one run.

    python bench/load.py --scale small            # seconds to set up, for a smoke run
    python bench/load.py --scale baoshan --pgdata /var/tmp/stq-baoshan --keep
                                                  # generate once, keep the cluster, rerun

It starts (or reuses DATABASE_URL / REDIS_URL) PostgreSQL and Redis, migrates,
generates the district, starts uvicorn with one worker per core (DJANGO_DEBUG=false,
real production settings), two `db_worker` task workers and the WeChat stand-in,
mints real tokens for personas (bench/prepare.py), and runs wrk against each endpoint.
Every row is printed as a ratio against the bare DRF endpoint (bench/views.py) on the
same stack: against the fastest of its rows, and, for the throughput rows, against the higher of
the constant endpoint measured right before and right after the row (this VM's speed drifts
within a run; the targets read the adjacent ratio). Whatever it started is stopped on exit,
by process group.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import ROOT, Stack, production_env  # noqa: E402

LUA = Path(__file__).resolve().parent / "wrk_request.lua"

ADJACENT_SECONDS = 6.0
_WRK_RUNS = itertools.count(1)
TARGETS = {
    "feed_ratio": 0.5,  # feed throughput ≥ 0.5 × ceiling
    "deep_page": 1.2,  # page 1000 latency ≤ 1.2 × page 1
    "create_ratio": 1 / 3,
    "street_ms": 200.0,
    "district_ms": 500.0,
    # issue 17
    "matter_create_ratio": 0.5,
    "matter_queue_ratio": 0.5,
    "matter_map_ms": 200.0,
    # issue 20
    "queue_ratio": 0.5,
    "feed_many_ratio": 0.8,
    "create_push_ratio": 0.5,
    # issue 20: the constant endpoint (full middleware, DRF, bearer) ≥ 0.6 × a bare Django view
    "ceiling_vs_bare": 0.6,
}


@dataclass
class Result:
    name: str
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    bad: int = 0
    connections: int = 0
    note: str = ""
    available: bool = True
    rss_peak: dict[int, float] = field(default_factory=dict)
    # The constant endpoint measured just before and just after this row (throughput rows only).
    adjacent: tuple[float, float] | None = None

    @property
    def adjacent_ceiling(self) -> float:
        # The higher of the two, like the fastest-row ceiling: a slow window must not flatter a row.
        return max(self.adjacent) if self.adjacent else 0.0


class SpyRecorder:
    """py-spy record of every server process over a measured row (--py-spy DIR): collapsed
    stacks, one file per process, for `bench/spy_summary.py` or any flame-graph tool."""

    def __init__(self, out_dir: Path | None, name: str, pids: list[int], seconds: float) -> None:
        self.procs: list[subprocess.Popen] = []
        if out_dir is None:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        for pid in pids:
            self.procs.append(
                subprocess.Popen(
                    # --gil: only the thread holding the GIL, i.e. where each process's CPU goes;
                    # without it, threads waiting for the GIL after every I/O call swamp the picture.
                    ["py-spy", "record", "--pid", str(pid), "--rate", "250", "--duration", str(max(1, int(seconds))),
                     "--format", "raw", "--output", str(out_dir / f"{slug}.{pid}.txt"), "--nonblocking", "--gil"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )

    def __enter__(self) -> SpyRecorder:
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.wait(timeout=60)


class RssSampler:
    """Peak RSS per server process while wrk runs (psutil, every 200 ms)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        procs = {}
        for pid in self.pids:
            try:
                procs[pid] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                pass
        while not self._stop.is_set():
            for pid, proc in procs.items():
                try:
                    mb = proc.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0.0), mb)
            self._stop.wait(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(base: str, method: str, path: str, auth: str, body: str = "", idem: bool = False) -> tuple[int, dict | str]:
    headers = {"Accept": "application/json"}
    if auth:
        name, value = auth.split(":", 1)
        headers[name] = value.strip()
    data = None
    if body:
        data = body.encode()
        headers["Content-Type"] = "application/json"
    if idem:
        headers["Idempotency-Key"] = f"preflight-{time.time_ns()}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        # No redirects: a login redirect must show up as a failed preflight, not a 200 login page.
        with urllib.request.build_opener(_NoRedirect).open(req, timeout=30) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        status = exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw[:300].decode(errors="replace")


def run_wrk(
    bases: list[str],
    name: str,
    requests: list[list[str]],
    *,
    seconds: float,
    connections: int,
    pids: list[int],
    warmup: float,
    py_spy: Path | None = None,
) -> Result:
    """One wrk per server process, each with its share of the connections, at once: what a
    reverse proxy's round robin does. (One wrk against a shared socket let one process accept
    most of the 16 connections at the start of a row — 13 against 3 was seen — and a CPU-bound
    row then ran at half speed in some runs and not in others.) Throughput is the sum; p50 and
    p99 are the worst of the processes'."""
    for method, path, auth, body, idem in requests[:1]:
        t0 = time.monotonic()
        status, payload = http(bases[0], method, path, auth, body, idem == "1")
        preflight_ms = (time.monotonic() - t0) * 1000
        if not 200 <= status < 300:
            return Result(
                name, available=False, note=f"preflight {method} {path.split('?')[0]} → {status}: {str(payload)[:200]}"
            )
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as spec:
        for row in requests:
            spec.write("\t".join(row) + "\n")
    env = {**os.environ, "STQ_SPEC": spec.name}
    shares = [connections // len(bases) + (1 if i < connections % len(bases) else 0) for i in range(len(bases))]
    targets = [(base, share) for base, share in zip(bases, shares, strict=True) if share]

    def wrk_all(duration: float) -> list[str]:
        # Each wrk process gets its own STQ_WRK_ID for the Idempotency-Keys it makes: two wrk
        # started in the same second made the same keys for the same personas, so creates were
        # answered 409 idempotency_in_progress or replayed instead of made (seen in issue 17's run).
        run = next(_WRK_RUNS)
        procs = [
            subprocess.Popen(
                ["wrk", "-t1", f"-c{share}", "--timeout", "10s", "-s", str(LUA), f"-d{max(1, int(duration))}s", base],
                env={**env, "STQ_WRK_ID": f"{os.getpid()}-{run}-{i}"},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i, (base, share) in enumerate(targets)
        ]
        outputs = []
        for proc in procs:
            out, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"wrk failed:\n{out}\n{err}")
            outputs.append(out)
        return outputs

    try:
        if warmup > 0:
            wrk_all(warmup)
        with RssSampler(pids) as sampler, SpyRecorder(py_spy, name, pids, seconds):
            outputs = wrk_all(seconds)
    finally:
        os.unlink(spec.name)
    summaries = []
    for out in outputs:
        line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary:\n{out}")
        summaries.append(json.loads(line[len("WRKJSON ") :]))
    total = sum(s["requests"] for s in summaries)
    bad = sum(
        s["status_errors"] + s["connect_errors"] + s["read_errors"] + s["write_errors"] + s["timeouts"] for s in summaries
    )
    note = "" if total else f"no request finished within wrk's 10 s timeout; one alone took {preflight_ms:.0f} ms"
    return Result(
        name,
        rps=sum(s["requests"] / (s["duration_us"] / 1e6) for s in summaries),
        p50_ms=max(s["p50_us"] for s in summaries) / 1000,
        p99_ms=max(s["p99_us"] for s in summaries) / 1000,
        requests=total,
        bad=bad,
        connections=connections,
        rss_peak=sampler.peak,
        note=note,
    )


def feed_cursor_at(base: str, path: str, auth: str, page: int, size: int = 20) -> tuple[str | None, int]:
    """Walk the feed with big pages to the cursor that starts page `page` of `size` items,
    or, for a feed with fewer pages, the deepest page that still has a full page of posts."""
    skip = (page - 1) * size
    cursor, walked = None, 0
    last_cursor, last_walked = None, 0
    while walked < skip:
        step = min(100, skip - walked)
        url = path.replace("limit=20", f"limit={step}") + (f"&cursor={cursor}" if cursor else "")
        status, body = http(base, "GET", url, auth)
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"walking the feed failed at item {walked}: {status} {body}")
        if not body.get("next_cursor"):
            break
        last_cursor, last_walked = cursor, walked
        walked += len(body["results"])
        cursor = body["next_cursor"]
    if walked >= skip:
        return cursor, page
    # The feed ended: start from the last page boundary we can land on with a full page behind it.
    return (last_cursor, last_walked // size + 1) if last_cursor else (None, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["small", "baoshan"], default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per row (small 5, baoshan 15)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--servers", "--workers", dest="workers", type=int, default=os.cpu_count() or 2,
        help="uvicorn server processes, one port each (default: cores)",
    )
    parser.add_argument(
        "--pgbouncer", action="store_true",
        help="put PgBouncer (transaction mode) between the servers and PostgreSQL: DATABASE_POOL=false, "
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS=true (docs/deployment.md)",
    )
    parser.add_argument("--task-workers", type=int, default=2)
    parser.add_argument("--pgdata", type=Path, help="keep the cluster here and reuse its data on the next run")
    parser.add_argument("--keep", action="store_true", help="leave --pgdata in place on exit")
    parser.add_argument("--deep-page", type=int, default=1000)
    parser.add_argument(
        "--rows",
        help="comma-separated subset of rows to measure (ceiling,bare,ceiling_post,feed,feed_many,feed_deep,create,create_push,"
        "staff_queue,street,district,matter_create,unit_queue,officer_overdue,matter_map,ceiling_end); "
        "the ceiling rows and the bare view always run",
    )
    parser.add_argument(
        "--skip-snapshot-refresh",
        action="store_true",
        help="on a kept cluster whose dashboard snapshots are already backfilled, do not refresh 400 days",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record each server process with py-spy over every measured row (collapsed stacks in DIR; "
        "py-spy samples on the same cores, so read the shape, not the rates)",
    )
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.scale == "baoshan" else 5.0)
    warmup = 3.0 if args.scale == "baoshan" else 1.0

    # Stop cleanly on SIGTERM and on Ctrl-C, even when started in the background (where
    # the shell hands Python an ignored SIGINT): the finally below must run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = Stack(keep_pgdata=args.keep)
    started = time.monotonic()
    try:
        database_url = os.environ.get("DATABASE_URL", "")
        pg_ours = not database_url
        if pg_ours:
            database_url = stack.start_postgres(pgdata=args.pgdata, bulk_load=True)
        redis_url = os.environ.get("REDIS_URL") or stack.start_redis()
        env = production_env(database_url=database_url, redis_url=redis_url, wechat_base="http://127.0.0.1:1/")
        # The bench app: generate_district below, and the ceiling endpoint the servers mount.
        env["BENCH"] = "true"
        env["WECHAT_API_BASE"] = stack.start_wechat_standin(env)
        log(f"PostgreSQL {database_url}, Redis {redis_url}")
        stack.manage("migrate", "--noinput", env=env)
        generated = stack.manage(
            "generate_district", "--check", "--scale", args.scale, "--seed", str(args.seed), env=env
        )
        if "present" not in generated:
            log(f"generating the {args.scale} district (seed {args.seed}) …")
            t0 = time.monotonic()
            stack.manage(
                "generate_district", "--scale", args.scale, "--seed", str(args.seed), "--flush", env=env, stream=True
            )
            log(f"generated in {time.monotonic() - t0:.0f}s")
        elif not args.skip_snapshot_refresh:
            # A kept cluster from before the dashboards read snapshots: backfill the range they show.
            t0 = time.monotonic()
            since = (dt.date.today() - dt.timedelta(days=400)).isoformat()
            stack.manage("refresh_dashboard_snapshots", "--since", since, env=env, stream=True)
            log(f"dashboard snapshots refreshed in {time.monotonic() - t0:.0f}s")
        if pg_ours:
            stack.restart_postgres_durable()  # the load test runs with fsync on, like production
        server_env = {
            **env,
            # Per-user rate limits would turn a create benchmark into a 429 benchmark.
            "THROTTLE_SERVICE_REQUEST": "1000000/min",
            "THROTTLE_POST": "1000000/min",
        }
        # One uvicorn process per core, each on its own port, as behind a reverse proxy (the
        # deployment guide's N stateless ASGI processes); run_wrk spreads the connections evenly.
        if args.pgbouncer:
            server_env.update(
                DATABASE_URL=stack.start_pgbouncer(database_url),
                # PgBouncer pools; a client connection per request to it is cheap (docs/deployment.md).
                DATABASE_POOL="false",
                DATABASE_DISABLE_SERVER_SIDE_CURSORS="true",
                # Debian's pgbouncer 1.18 cannot carry a prepared statement between transactions.
                DATABASE_PREPARED_STATEMENTS="false",
            )
            log(f"PgBouncer (transaction mode) {server_env['DATABASE_URL']}")
        bases = [stack.start_uvicorn(server_env, workers=1, name=f"uvicorn-{i + 1}") for i in range(args.workers)]
        base = bases[0]
        stack.start_workers(server_env, args.task_workers)
        pids = [stack.pid_of(f"uvicorn-{i + 1}") for i in range(args.workers)]
        log(f"uvicorn {', '.join(bases)}: {len(pids)} server processes {pids}; {args.task_workers} db_worker processes")
        prep_run = subprocess.run(
            [sys.executable, "bench/prepare.py"], cwd=ROOT, env=server_env, capture_output=True, text=True
        )
        if prep_run.returncode != 0:
            raise RuntimeError(f"bench/prepare.py failed:\n{prep_run.stderr[-4000:]}")
        prep = json.loads(prep_run.stdout)
        sc = prep["scenarios"]
        log(f"personas in {prep['neighborhood']['name']} / {prep['street']['name']} / {prep['district']['name']}")

        results: dict[str, Result] = {}

        wanted = set(args.rows.split(",")) | {"ceiling", "bare", "ceiling_end"} if args.rows else None

        # The machine's speed drifts within a run (the constant endpoint has read 116 and 234 req/s
        # in one), so each throughput row is also compared with the constant endpoint measured
        # right before and right after it: the last pairing run serves as the next row's "before".
        adjacent_runs: list[float] = []

        def ceiling_now() -> float:
            r = run_wrk(bases, "ceiling (adjacent)", sc["ceiling"]["requests"], seconds=ADJACENT_SECONDS,
                        connections=args.connections, pids=pids, warmup=1)
            adjacent_runs.append(r.rps)
            return r.rps

        def measure(key: str, name: str, scenario: dict, connections: int | None = None) -> Result:
            stack.check_alive()
            if wanted is not None and key not in wanted:
                results[key] = Result(name, available=False, note="not measured (--rows)")
                return results[key]
            if not scenario.get("available"):
                results[key] = Result(name, available=False, note=scenario.get("reason", ""))
                return results[key]
            results[key] = run_wrk(
                bases,
                name,
                scenario["requests"],
                seconds=seconds,
                connections=connections or args.connections,
                pids=pids,
                warmup=warmup,
                py_spy=args.py_spy,
            )
            r = results[key]
            if connections is None and key not in ("ceiling", "bare", "ceiling_post", "ceiling_end"):
                before = adjacent_runs[-1] if adjacent_runs else ceiling_now()
                r.adjacent = (before, ceiling_now())
            log(f"{name}: {r.rps:.0f} req/s p50 {r.p50_ms:.1f} ms p99 {r.p99_ms:.1f} ms {r.note}")
            return r

        # Warm the whole stack before the first row: fresh server processes, an empty connection
        # pool and a just-restarted PostgreSQL made the first ceiling row read 113 req/s and the
        # last 200 in one run, which skews every ratio.
        for key in ("ceiling", "feed", "staff_queue", "street_dashboard", "district_dashboard", "unit_queue",
                    "officer_overdue", "matter_map"):
            scenario = sc.get(key, {})
            if scenario.get("available"):
                run_wrk(bases, f"warm-up {key}", scenario["requests"], seconds=4, connections=4, pids=pids, warmup=0)
        run_wrk(bases, "warm-up ceiling", sc["ceiling"]["requests"], seconds=8, connections=args.connections, pids=pids, warmup=0)
        measure("ceiling", "ceiling GET (constant)", sc["ceiling"])
        adjacent_runs.append(results["ceiling"].rps)
        # Issue 20: what Django alone serves on the same processes (no middleware, no DRF, no token).
        measure("bare", "bare Django view (no middleware)", sc.get("bare", {"available": False}))
        measure("ceiling_post", "ceiling POST (constant)", sc["ceiling_post"])
        measure("feed", "feed page 1 (20 posts)", sc["feed"])
        measure("feed_many", "feed page 1, 200 residents' tokens", sc.get("feed_many", {"available": False}))
        if wanted is not None and "feed_deep" not in wanted:
            results["feed_deep"] = Result("feed page 1000", available=False, note="not measured (--rows)")
        elif sc["feed"].get("available") and results["feed"].available:
            method, path, auth, _b, _i = sc["feed"]["requests"][0]
            cursor, reached = feed_cursor_at(base, path, auth, args.deep_page)
            if cursor:
                deep = {"available": True, "requests": [[method, f"{path}&cursor={cursor}", auth, "", "0"]]}
                deep_note = (
                    "" if reached == args.deep_page else f"deepest page: the feed ends before page {args.deep_page}"
                )
            else:
                deep = {"available": False, "reason": f"the busiest feed has only one page of {20}"}
            row = measure("feed_deep", f"feed page {reached} (20 posts)", deep)
            if row.available:
                row.note = deep_note
        else:
            results["feed_deep"] = Result("feed page 1000", available=False, note=results["feed"].note)
        measure("create", "one-tap request create", sc["create"])
        _measure_create_with_push(measure, sc, server_env, wanted)
        if "max_request_id" in prep:
            # Leave the kept cluster as generated: the requests just made would otherwise pile
            # up in the busiest neighborhood's queue, run after run.
            cleanup = subprocess.run(
                [sys.executable, "bench/prepare.py", "--delete-requests-after", str(prep["max_request_id"])],
                cwd=ROOT,
                env=server_env,
                capture_output=True,
                text=True,
            )
            log(f"removed the requests the create row made: {cleanup.stdout.strip() or cleanup.stderr[-300:]}")
        measure("staff_queue", "staff queue with filters", sc["staff_queue"])
        # Dashboards: latency of one officer at a time, the target is per request.
        measure("street", "street dashboard (1 conn)", sc["street_dashboard"], connections=1)
        measure("district", "district dashboard (1 conn)", sc["district_dashboard"], connections=1)
        _measure_matters(measure, sc, prep, server_env, wanted)
        measure("ceiling_end", "ceiling GET again (drift)", sc["ceiling"])
        report(args, prep, results, pids, seconds, time.monotonic() - started, adjacent_runs)
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the stop short
        stack.stop()


def _measure_create_with_push(measure, sc: dict, server_env: dict, wanted: set | None) -> None:
    """Issue 20: the create again with the staff's "new request" WeChat push on (each create
    writes an outbox row per committee member and sets a consent aside for each). The servers
    read templates through a one-minute memo (notifications/templates.py), hence the wait."""
    if wanted is not None and "create_push" not in wanted:
        measure("create_push", "create, staff's push on", {"available": False, "reason": "not measured (--rows)"})
        return
    def switch(state: str) -> str:
        run = subprocess.run([sys.executable, "bench/prepare.py", "--new-request-push", state], cwd=ROOT,
                             env=server_env, capture_output=True, text=True)
        return run.stdout.strip() or run.stderr[-300:]
    log(f"staff's new-request push: {switch('on')}; waiting 61 s for the servers' template memo")
    time.sleep(61)
    try:
        measure("create_push", "create, staff's push on", sc["create"])
    finally:
        log(f"staff's new-request push: {switch('off')}")


def _measure_matters(measure, sc: dict, prep: dict, server_env: dict, wanted: set | None) -> None:
    """The issue 17 rows; each reads "not available yet" where matters have not landed."""
    missing = {"available": False, "reason": "bench/prepare.py made no matters scenario"}
    measure("matter_create", "matter create (POST /matters)", sc.get("matter_create", missing))
    if "max_matter_id" in prep and (wanted is None or "matter_create" in wanted):
        # As for requests: the matters just made would pile up in the unit's queue run after run.
        cleanup = subprocess.run(
            [sys.executable, "bench/prepare.py", "--delete-matters-after", str(prep["max_matter_id"])],
            cwd=ROOT, env=server_env, capture_output=True, text=True,
        )
        log(f"removed the matters the create row made: {cleanup.stdout.strip() or cleanup.stderr[-300:]}")
    measure("unit_queue", "unit's matter queue", sc.get("unit_queue", missing))
    measure("officer_overdue", "officer's overdue list (queue)", sc.get("officer_overdue", missing))
    # The map: latency of one officer at a time, the target is per request (as the dashboards).
    measure("matter_map", "street map points (1 conn)", sc.get("matter_map", missing), connections=1)


def log(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def report(
    args, prep: dict, results: dict[str, Result], pids: list[int], seconds: float, elapsed: float,
    adjacent_runs: list[float],
) -> None:
    # The ceiling is the fastest of the constant-endpoint rows (GET at the start and the end, POST):
    # on a VM whose speed drifts, a depressed ceiling row would inflate every ratio (one run read
    # GET 115 and POST 231 req/s), so the conservative choice is the one that makes ratios smallest.
    ceiling_runs = [r for k, r in results.items() if k in ("ceiling", "ceiling_post", "ceiling_end") and r.available]
    ceiling = max((r.rps for r in ceiling_runs), default=0.0)
    spread = (ceiling / min(r.rps for r in ceiling_runs)) if ceiling_runs and min(r.rps for r in ceiling_runs) else 0.0
    load1, _, _ = os.getloadavg()
    print()
    print(
        f"社区通 load benchmark — scale {args.scale} (seed {args.seed}), {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %z}"
    )
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"uvicorn × {args.workers}{' behind PgBouncer (transaction mode)' if args.pgbouncer else ''}, "
        f"wrk 1 thread × {args.connections} conns, {seconds:.0f}s per row; load avg now {load1:.1f}"
    )
    print(f"ceiling = the fastest constant-endpoint row: {ceiling:.0f} req/s")
    print(
        f"adjacent = the higher of the constant endpoint measured right before and after each throughput row ({ADJACENT_SECONDS:.0f}s each;"
        f" {len(adjacent_runs)} runs, {min(adjacent_runs, default=0):.0f}–{max(adjacent_runs, default=0):.0f} req/s); "
        "the targets read this ratio"
    )
    spread = max(spread, max(adjacent_runs, default=1) / max(min(adjacent_runs, default=1), 1))
    if spread > 1.25:
        print(
            f"WARNING: the constant-endpoint rows differ by {spread:.2f}× — the machine's speed changed "
            "during the run; rerun before reading the ratios"
        )
    print()
    print(f"{'row':34} {'req/s':>8} {'× ceil':>7} {'× adj':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  note")
    for key in (
        "ceiling",
        "bare",
        "ceiling_post",
        "feed",
        "feed_many",
        "feed_deep",
        "create",
        "create_push",
        "staff_queue",
        "street",
        "district",
        "matter_create",
        "unit_queue",
        "officer_overdue",
        "matter_map",
        "ceiling_end",
    ):
        r = results.get(key)
        if r is None:
            continue
        if not r.available:
            print(f"{r.name:34} {'not available yet':>50}  {r.note}")
            continue
        ratio = r.rps / ceiling if ceiling else 0
        adj = f"{r.rps / r.adjacent_ceiling:7.2f}" if r.adjacent else f"{'':7}"
        print(f"{r.name:34} {r.rps:8.0f} {ratio:7.2f} {adj} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {r.bad:7d}  {r.note}")
    print()
    print("targets:")
    verdicts = []

    def verdict(label: str, ok: bool | None, detail: str) -> None:
        mark = "n/a " if ok is None else ("PASS" if ok else "MISS")
        verdicts.append(ok)
        print(f"  [{mark}] {label}: {detail}")

    feed, deep, create = results.get("feed"), results.get("feed_deep"), results.get("create")
    street, district = results.get("street"), results.get("district")
    def against(r: Result) -> tuple[float, str]:
        ratio = r.rps / r.adjacent_ceiling
        return ratio, f"{ratio:.2f}× the adjacent ceiling ({r.adjacent[0]:.0f}/{r.adjacent[1]:.0f} req/s); {r.rps / ceiling:.2f}× the fastest"

    if feed and feed.available:
        ratio, detail = against(feed)
        verdict("feed throughput ≥ 0.5 × ceiling", ratio >= TARGETS["feed_ratio"], detail)
    else:
        verdict("feed throughput ≥ 0.5 × ceiling", None, "feed not available yet")
    if feed and feed.available and deep and deep.available:
        ratio = deep.p50_ms / feed.p50_ms
        verdict(
            "deep page p50 ≤ 1.2 × page 1 p50",
            ratio <= TARGETS["deep_page"],
            f"{ratio:.2f}× (throughput {deep.rps / feed.rps:.2f}× of page 1)",
        )
    else:
        verdict("deep page p50 ≤ 1.2 × page 1 p50", None, (deep.note if deep else "") or "feed not available yet")
    if create and create.available:
        ratio, detail = against(create)
        verdict("request create ≥ 1/3 × ceiling", ratio >= TARGETS["create_ratio"], f"{detail}, p99 {create.p99_ms:.0f} ms")
    else:
        verdict("request create ≥ 1/3 × ceiling", None, create.note if create else "")
    for r, limit, label in (
        (street, TARGETS["street_ms"], "street dashboard"),
        (district, TARGETS["district_ms"], "district dashboard"),
    ):
        if r and r.available and not r.requests:
            verdict(f"{label} p99 < {limit:.0f} ms", False, r.note)
        elif r and r.available:
            verdict(f"{label} p99 < {limit:.0f} ms", r.p99_ms < limit, f"p50 {r.p50_ms:.0f} ms, p99 {r.p99_ms:.0f} ms")
        else:
            verdict(f"{label} p99 < {limit:.0f} ms", None, r.note if r else "")
    _ratio_verdicts(
        results,
        verdict,
        against,
        (
            ("feed_many", "feed over 200 residents' tokens ≥ 0.8 × ceiling", TARGETS["feed_many_ratio"]),
            ("staff_queue", "staff queue ≥ 0.5 × ceiling", TARGETS["queue_ratio"]),
            ("create_push", "create with the staff's push on ≥ 0.5 × ceiling", TARGETS["create_push_ratio"]),
        ),
    )
    _matter_verdicts(results, verdict, against)
    _ceiling_verdict(results, verdict)
    bad_rows = [r.name for r in results.values() if r.available and r.bad > 0.01 * max(r.requests, 1)]
    if bad_rows:
        print(f"  WARNING: more than 1% failed requests in: {', '.join(bad_rows)} (those ratios are not valid)")
    print()
    peak: dict[int, float] = {}
    for r in results.values():
        for pid, mb in r.rss_peak.items():
            peak[pid] = max(peak.get(pid, 0.0), mb)
    print(
        "RSS per server process under load (peak over all rows): "
        + ", ".join(f"pid {p}: {mb:.0f} MB" for p, mb in sorted(peak.items()))
    )
    print(f"total wall time {elapsed:.0f}s")


def _ceiling_verdict(results: dict[str, Result], verdict) -> None:
    """Issue 20: the constant endpoint against the bare Django view measured right after it
    (both ceilings are printed above, so a cheaper ceiling never hides a slower row)."""
    ceiling, bare = results.get("ceiling"), results.get("bare")
    label = f"ceiling ≥ {TARGETS['ceiling_vs_bare']} × bare Django view"
    if ceiling and bare and ceiling.available and bare.available and bare.rps:
        ratio = ceiling.rps / bare.rps
        verdict(label, ratio >= TARGETS["ceiling_vs_bare"], f"{ratio:.2f}× ({ceiling.rps:.0f} / {bare.rps:.0f} req/s)")
    else:
        verdict(label, None, bare.note if bare else "")


def _ratio_verdicts(results: dict[str, Result], verdict, against, rows) -> None:
    """Each (row, label, target): the row's `× adj` ratio against its target."""
    for key, label, target in rows:
        r = results.get(key)
        if r and r.available and r.adjacent:
            ratio, detail = against(r)
            verdict(label, ratio >= target, f"{detail}, p99 {r.p99_ms:.0f} ms")
        else:
            verdict(label, None, r.note if r else "")


def _matter_verdicts(results: dict[str, Result], verdict, against) -> None:
    _ratio_verdicts(
        results,
        verdict,
        against,
        (
            ("matter_create", "matter create ≥ 0.5 × ceiling", TARGETS["matter_create_ratio"]),
            ("unit_queue", "unit's queue ≥ 0.5 × ceiling", TARGETS["matter_queue_ratio"]),
            ("officer_overdue", "officer's overdue list ≥ 0.5 × ceiling", TARGETS["matter_queue_ratio"]),
        ),
    )
    r, limit = results.get("matter_map"), TARGETS["matter_map_ms"]
    if r and r.available:
        verdict(f"street map points p99 < {limit:.0f} ms", r.p99_ms < limit, f"p50 {r.p50_ms:.0f} ms, p99 {r.p99_ms:.0f} ms")
    else:
        verdict(f"street map points p99 < {limit:.0f} ms", None, r.note if r else "")


if __name__ == "__main__":
    sys.exit(main())
