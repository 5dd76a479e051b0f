"""物联感知 ingestion under load (issue 18): signed HTTP batches against the production-like stack.

    DATABASE_URL=… REDIS_URL=… python bench/sensor_load.py [--scale small] [--seconds 30] [--connections 8]
        [--batch 100] [--homes 40000] [--sheds 2000]
    DATABASE_URL=… python bench/sensor_load.py --profile [--batch 100]   # one batch in-process, cProfile

What a run does: migrate; generate_district (if absent) and generate_sensors (bench/generate/sensors.py:
40,000 homes × 2 sensors + 2,000 shed sensors); one uvicorn process per core (bench/stack.py, every
production setting, the sensor throttle lifted: THROTTLE_SENSOR_INGEST would otherwise cap one
integration at 1200 batches/min), two db_worker processes and the WeChat stand-in. Then
`--connections` client threads, each on its own keep-alive connection (spread over the server
processes as a reverse proxy would), POST batches of `--batch` events — heartbeats, readings and
battery reports from random home and shed devices, fresh vendor event ids, `occurred_at` now —
each signed at send time (HMAC over timestamp + body, as a vendor's platform does). A probe thread
meanwhile sends, once a second, one 烟感 alarm from a shed sensor not yet alarmed: its answer
comes back once the alarm case is committed (the rule runs in the ingest transaction), so the
probe's latency is alarm → case. Reported: accepted events/s over the measured window (after a
warm-up), batch latency p50/p99, refused/failed counts, alarm → case p50/p99 and the cases made.

`--profile` signs one batch and sends it through Django's test client in this process under
cProfile (DATABASE_URL must point at a database with the sensors generated), printing where
the time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ is first on the path and bench/profile.py would shadow the standard
# library's `profile` (which cProfile imports): put the repository root there instead.
sys.path[0] = str(ROOT)

from bench.stack import Stack, production_env  # noqa: E402

INGEST = "/api/v1/sensors/ingest"
TYPES = (["heartbeat"] * 6) + (["reading"] * 3) + ["battery"]


def sign(secret: str, ts: str, body: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()


def device_ids(homes: int, sheds: int) -> tuple[list[str], list[str]]:
    from bench.generate.sensor_ids import home_device_id, shed_device_id

    ordinary = [home_device_id(n, k) for n in range(1, homes + 1) for k in ("infrared", "door")]
    ordinary += [shed_device_id(n) for n in range(1, sheds + 1)]
    smoke = [shed_device_id(n) for n in range(1, sheds + 1)]
    return ordinary, smoke


def make_batch(prefix: str, n: int, devices: list[str], r: random.Random) -> bytes:
    at = dt.datetime.now(dt.UTC).isoformat()
    events = []
    for i in range(n):
        kind = r.choice(TYPES)
        value = r.randint(5, 100) if kind == "battery" else ({"motion": r.random() < 0.3} if kind == "reading" else None)
        events.append({"event_id": f"{prefix}-{i}", "device_id": r.choice(devices), "type": kind, "occurred_at": at, "value": value})
    return json.dumps({"events": events}).encode()


class Sender:
    def __init__(self, base: str, integration: int, secret: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.integration, self.secret = str(integration), secret

    def post(self, body: bytes) -> tuple[int, dict]:
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json", "X-Sensor-Integration": self.integration,
            "X-Sensor-Timestamp": ts, "X-Sensor-Signature": sign(self.secret, ts, body),
        }
        self.conn.request("POST", INGEST, body, headers)
        response = self.conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, {}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_load(bases: list[str], integration: int, secret: str, *, seconds: float, warmup: float, connections: int,
             batch: int, homes: int, sheds: int) -> dict:
    ordinary, smoke = device_ids(homes, sheds)
    run = f"{int(time.time())}"
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    lock = threading.Lock()
    stats = {"accepted": 0, "duplicate": 0, "refused": 0, "failed": 0, "batches": 0, "latency": [], "alarm": [], "alarm_cases": 0}

    def worker(w: int) -> None:
        r = random.Random(w)
        sender = Sender(bases[w % len(bases)], integration, secret)
        n = 0
        while time.monotonic() < stop_at:
            body = make_batch(f"L{run}-{w}-{n}", batch, ordinary, r)
            n += 1
            t0 = time.monotonic()
            try:
                status, answer = sender.post(body)
            except (OSError, http.client.HTTPException):
                status, answer = 0, {}
                sender = Sender(bases[w % len(bases)], integration, secret)
            t1 = time.monotonic()
            if t0 < measure_from or t1 > stop_at:
                continue
            with lock:
                stats["batches"] += 1
                stats["latency"].append(t1 - t0)
                if status != 200:
                    stats["failed"] += 1
                    continue
                for key in ("accepted", "duplicate", "refused"):
                    stats[key] += len(answer.get(key, []))

    def alarm_probe() -> None:
        sender = Sender(bases[0], integration, secret)
        for i, device in enumerate(reversed(smoke)):
            next_at = measure_from + i
            if next_at > stop_at:
                return
            time.sleep(max(0.0, next_at - time.monotonic()))
            at = dt.datetime.now(dt.UTC).isoformat()
            body = json.dumps({"events": [{"event_id": f"A{run}-{i}", "device_id": device, "type": "alarm", "occurred_at": at}]}).encode()
            t0 = time.monotonic()
            status, answer = sender.post(body)
            if status == 200 and answer.get("accepted"):
                with lock:
                    stats["alarm"].append(time.monotonic() - t0)
                    stats["alarm_cases"] += 1

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(connections)]
    threads.append(threading.Thread(target=alarm_probe, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat, alarm = stats.pop("latency"), stats.pop("alarm")
    return {
        **stats, "run": run, "seconds": seconds, "events_per_s": round(stats["accepted"] / seconds),
        "batches_per_s": round(stats["batches"] / seconds, 1),
        "batch_p50_ms": round(1000 * pct(lat, 0.5), 1), "batch_p99_ms": round(1000 * pct(lat, 0.99), 1),
        "alarm_case_p50_ms": round(1000 * pct(alarm, 0.5), 1), "alarm_case_p99_ms": round(1000 * pct(alarm, 0.99), 1),
    }


def wait_for_workers(database_url: str, pids: list[int], timeout: float = 120.0) -> None:
    """Until every db_worker started for this run has entered its loop (its heartbeat row, written
    as the loop starts: core/heartbeat.py). A worker still booting when the probe alarms begin
    would be counted as alarm → push latency: on this shared machine a worker takes ~20 s to
    boot, and a run that did not wait (2026-12-02 08:41) measured a p99 of 10 s that way."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            ready = conn.execute("SELECT count(*) FROM core_workerheartbeat WHERE pid = ANY(%s)", [pids]).fetchone()[0]
            if ready >= len(pids):
                return
            time.sleep(0.5)
    raise SystemExit(f"db_workers {pids} did not start within {timeout:.0f}s")


def profile_one_batch(batch: int, homes: int, sheds: int) -> None:
    import cProfile
    import pstats

    # The servers' environment (bench/stack.py: DEBUG off, the bench's fixed keys, which decrypt
    # the generated integration's secret), on the database and Redis given.
    os.environ.update(production_env(
        database_url=os.environ["DATABASE_URL"], redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        wechat_base="http://127.0.0.1:1/", extra={"THROTTLE_SENSOR_INGEST": "100000000/min"},
    ))
    import django

    django.setup()
    from django.test import Client

    from bench.generate.sensor_ids import SECRET, VENDOR
    from sensors.models import Integration

    integration = Integration.objects.get(vendor=VENDOR)
    ordinary, _ = device_ids(homes, sheds)
    client, r = Client(HTTP_HOST="127.0.0.1"), random.Random(7)

    def send(tag: str) -> dict:
        body = make_batch(f"P{time.time_ns()}-{tag}", batch, ordinary, r)
        ts = str(int(time.time()))
        response = client.generic("POST", INGEST, body, content_type="application/json",
                                  HTTP_X_SENSOR_INTEGRATION=str(integration.pk), HTTP_X_SENSOR_TIMESTAMP=ts,
                                  HTTP_X_SENSOR_SIGNATURE=sign(SECRET, ts, body))
        return response.json()

    for i in range(5):
        send(f"warm{i}")  # connections, caches, imports
    runs = 20
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for i in range(runs):
        send(str(i))
    profiler.disable()
    per_batch = (time.perf_counter() - t0) / runs
    print(f"{runs} batches of {batch} events in-process: {1000 * per_batch:.1f} ms per batch, "
          f"{batch / per_batch:.0f} events/s on one core (profiler on)")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["small", "baoshan"], default="small")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--homes", type=int, default=40_000)
    parser.add_argument("--sheds", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="uvicorn processes")
    parser.add_argument("--task-workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="profile one batch in-process instead")
    args = parser.parse_args()
    if args.profile:
        profile_one_batch(args.batch, args.homes, args.sheds)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = Stack()
    try:
        database_url = os.environ.get("DATABASE_URL") or stack.start_postgres(pgdata=None, bulk_load=False)
        redis_url = os.environ.get("REDIS_URL") or stack.start_redis()
        env = production_env(database_url=database_url, redis_url=redis_url, wechat_base="http://127.0.0.1:1/")
        env["BENCH"] = "true"
        env["WECHAT_API_BASE"] = stack.start_wechat_standin(env)
        stack.manage("migrate", "--noinput", env=env)
        if "present" not in stack.manage("generate_district", "--check", "--scale", args.scale, env=env):
            stack.manage("generate_district", "--scale", args.scale, "--flush", "--quiet", env=env)
        generated = stack.manage("generate_sensors", "--homes", str(args.homes), "--sheds", str(args.sheds),
                                 "--push-member", env=env)
        print(generated.strip())
        from bench.generate.sensor_ids import SECRET

        integration = int(generated.rsplit("integration=", 1)[1].split()[0])
        server_env = {**env, "THROTTLE_SENSOR_INGEST": "100000000/min"}
        bases = [stack.start_uvicorn(server_env, workers=1, name=f"uvicorn-{i + 1}") for i in range(args.workers)]
        stack.start_workers(server_env, args.task_workers)
        wait_for_workers(database_url, [stack.pid_of(f"db_worker-{i + 1}") for i in range(args.task_workers)])
        from bench.generate.sensor_ids import PUSH_OPENID, PUSH_TEMPLATE

        consent = json.dumps({"openid": PUSH_OPENID, "template_id": PUSH_TEMPLATE, "count": 1_000_000}).encode()
        urllib.request.urlopen(urllib.request.Request(env["WECHAT_API_BASE"] + "__standin__/consents", consent,
                                                      {"Content-Type": "application/json"}), timeout=10).read()
        load1 = os.getloadavg()
        result = run_load(bases, integration, SECRET, seconds=args.seconds, warmup=args.warmup, connections=args.connections,
                          batch=args.batch, homes=args.homes, sheds=args.sheds)
        result.update({"load_avg_before": [round(x, 1) for x in load1], "load_avg_after": [round(x, 1) for x in os.getloadavg()],
                       "server_processes": args.workers, "connections": args.connections, "batch": args.batch})
        time.sleep(10)  # let the last pushes leave the outbox
        pushed = stack.manage("shell", "-c", (
            "import json; from bench.generate.sensors import alarm_push_stages; "
            f"print('PUSH' + json.dumps(alarm_push_stages('A{result['run']}-')))"), env=env)
        stages = json.loads(pushed.split("PUSH", 1)[1])
        latencies = [s["pushed"] for s in stages]
        result.update({"alarm_pushed": len(latencies), "alarm_push_p50_ms": round(1000 * pct(latencies, 0.5), 1),
                       "alarm_push_p99_ms": round(1000 * pct(latencies, 0.99), 1)})
        # Where the slowest pushes' time went (seconds from the alarm stored; bench.generate.sensors.alarm_push_stages).
        result["alarm_push_slowest"] = sorted(stages, key=lambda s: s["pushed"])[-3:]
        result["alarm_push_stage_p50_s"] = {
            key: round(pct([s[key] for s in stages if s[key] is not None], 0.5), 3) for key in (stages[0] if stages else {})
        }
        print(json.dumps(result, indent=1))
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
