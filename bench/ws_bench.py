"""WebSocket fan-out benchmark (issue 20): N sockets on ONE production uvicorn process.

    .venv/bin/python bench/ws_bench.py --clients 10000 --neighborhoods 20 --rate 10 --seconds 30

What runs (bench/stack.py): PostgreSQL, Redis, and one `uvicorn config.asgi:application`
process with production settings (DJANGO_DEBUG=false, channels-redis pub/sub layer), as
docs/deployment.md runs it. This process creates N residents spread over K neighborhoods, each
with an API token, then starts `--client-processes` separate client processes (the `websockets`
package) that open the sockets and subscribe each to its `neighborhood.<id>`:

- a refused or failed handshake is retried with exponential backoff (0.5 s doubling to 8 s,
  jittered, `--attempts` tries); sockets never connected are counted and reported;
- clients answer the server's pings and send their own (every 20 s), and wait for frames with
  no idle timeout, so none quits while idle;
- a socket told `server_busy` (HTTP 503 before the upgrade, or close 1013: the server is checking as many tokens as it takes)
  comes back after the same backoff, without counting it as a failed try; the report counts them;
- a socket the server closes reconnects (same backoff), subscribes again and resyncs the gap
  over `GET /api/v1/events?stream=&since=` up to the new `last_id`.

Then this process publishes `--rate` events/s for `--seconds`, round-robin over the
neighborhoods, the way an action does (`publish_on_commit` in a transaction: worker → Redis →
server), recording each commit's wall-clock time. Clients record each frame's receipt time.
Reported: commit → receipt p50/p99/max over every (socket, event); per socket, events lost
(published to its stream, neither received nor resynced) and doubled (received more than
once); sockets not connected; the server's RSS growth per connected socket, and its CPU time
during the publishing phase.

`--code-root DIR` runs the server (and the publisher) from another checkout, e.g. an
exported `main`, so a before/after pair is measured with the same harness on the same machine.
`--database-url`/`--redis-url` use running services instead of starting throw-away ones;
`--port` fixes the server's port. Raise `ulimit -n` for large N (the harness raises its soft
limit to the hard limit; clients and the server inherit it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import signal
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- client processes -------------------------------------------------------------------------


def client_process(base: str, sockets: list[tuple[str, str]], attempts: int, ready, stop, results, received,
                   connect_rate: float) -> None:
    """Opens `sockets` [(token, stream)], reports how many are subscribed, receives until `stop`
    is set, then sends back what each socket saw."""
    raise_nofile()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    seen = asyncio.run(_clients(base, sockets, attempts, ready, stop, received, connect_rate))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((seen, usage.ru_utime + usage.ru_stime))


class _Busy(Exception):
    """The server answered `server_busy` and closed 1013 (notifications/consumers.py)."""


async def _clients(base, sockets, attempts, ready, stop, received, connect_rate):
    import websockets

    ws_base = base.replace("http://", "ws://")
    done = asyncio.Event()

    count = [0]
    open_sockets: set = set()

    async def watch_stop():
        while not stop.is_set():
            await asyncio.sleep(0.2)
            with received.get_lock():
                received.value += count[0]
            count[0] = 0
        done.set()
        for ws in list(open_sockets):
            await ws.close()

    def resync(token: str, stream: str, since: int, upto: int) -> list[dict]:
        events, cursor = [], since
        while cursor < upto:
            request = urllib.request.Request(
                f"{base}/api/v1/events?stream={stream}&since={cursor}&limit=200",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                page = json.load(response)
            fresh = [event for event in page["results"] if event["id"] <= upto]
            events += fresh
            if not page.get("has_more") or not page["results"]:
                break
            cursor = page["results"][-1]["id"]
        return events

    async def one(token: str, stream: str) -> dict:
        seen = {"stream": stream, "live": [], "resynced": [], "connects": 0, "failed": None, "first_last_id": None,
                "busy": 0}
        last_seen = None  # the highest event id this socket has, live or resynced
        reported = False
        delay = 0.5
        tries = 0
        while not done.is_set():
            try:
                async with websockets.connect(
                    f"{ws_base}/ws/v1/?token={token}", open_timeout=120, ping_interval=20, ping_timeout=60,
                    close_timeout=5, max_queue=None,
                ) as ws:
                    await ws.send(json.dumps({"action": "subscribe", "stream": stream}))
                    ack = json.loads(await ws.recv())
                    if (ack.get("error") or {}).get("code") == "server_busy":
                        # Closed 1013: the process is checking as many tokens as it takes; back off.
                        seen["busy"] += 1
                        raise _Busy
                    if ack.get("type") != "subscribed":
                        seen["failed"] = f"subscribe answered {ack}"
                        break
                    seen["connects"] += 1
                    tries, delay = 0, 0.5
                    if last_seen is None:
                        seen["first_last_id"] = last_seen = ack["last_id"]
                    elif ack["last_id"] > last_seen:
                        for event in await asyncio.to_thread(resync, token, stream, last_seen, ack["last_id"]):
                            seen["resynced"].append((event["id"], event["payload"].get("seq")))
                        last_seen = ack["last_id"]
                    if not reported:
                        reported = True
                        ready.put(1)
                    open_sockets.add(ws)
                    try:
                        async for raw in ws:  # no idle timeout: a quiet stream is not a dead socket
                            now = time.time()
                            frame = json.loads(raw)
                            if "id" in frame:
                                seen["live"].append((frame["id"], frame["payload"].get("seq"), now))
                                count[0] += 1
                                last_seen = max(last_seen, frame["id"])
                    finally:
                        open_sockets.discard(ws)
                    if done.is_set():
                        return seen
                    if ws.close_code == 4401:
                        seen["failed"] = "closed 4401 (session ended)"
                        break
            except (TimeoutError, OSError, websockets.exceptions.WebSocketException, _Busy) as exc:
                if done.is_set():
                    break
                if isinstance(exc, websockets.exceptions.ConnectionClosed) and exc.rcvd and exc.rcvd.code == 1013:
                    # The close overtook the subscribe (the server closes right after the error
                    # frame): the same "come back later", not a failed try.
                    seen["busy"] += 1
                    exc = _Busy()
                elif isinstance(exc, websockets.exceptions.InvalidStatus) and exc.response.status_code == 503:
                    # Turned away before the upgrade (uvicorn): "come back later" too.
                    seen["busy"] += 1
                    exc = _Busy()
                tries += 1 if not isinstance(exc, _Busy) else 0  # told to come back: not a failed try
                if seen["connects"] == 0 and tries >= attempts:
                    seen["failed"] = repr(exc)[:200]
                    break
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 8.0)
        if not reported:
            ready.put(0)
        return seen

    watcher = asyncio.ensure_future(watch_stop())  # noqa: RUF006 (awaited below)
    tasks = []
    started = time.monotonic()
    for index, (token, stream) in enumerate(sockets):
        tasks.append(asyncio.ensure_future(one(token, stream)))
        # A steady ramp at what the server can take: a burst fills its listen backlog, the
        # clients' handshakes time out and retry, and the server then works for sockets whose
        # client has already gone.
        delay = started + (index + 1) / connect_rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    outcome = await asyncio.gather(*tasks)
    await watcher
    return outcome


# --- the harness --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--neighborhoods", type=int, default=0, help="default: one per 500 clients")
    parser.add_argument("--rate", type=float, default=10.0, help="events per second (all streams)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--attempts", type=int, default=8, help="handshake tries per socket")
    parser.add_argument("--connect-rate", type=float, default=50.0, help="new sockets per second, all clients")
    parser.add_argument("--code-root", type=Path, default=ROOT, help="the checkout the server runs")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--deflate", action="store_true",
                        help="let the server negotiate permessage-deflate (production turns it off)")
    args = parser.parse_args()
    neighborhoods = args.neighborhoods or max(1, args.clients // 500)
    code_root = args.code_root.resolve()
    nofile = raise_nofile()

    sys.path.insert(0, str(ROOT))
    from bench.stack import UVICORN_WS_FLAGS, Stack, free_port, production_env

    # A stopped run (timeout, kill) must still stop what it started: SIGTERM runs the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = Stack()
    try:
        database_url = args.database_url or stack.start_postgres(small=True)
        redis_url = args.redis_url or stack.start_redis()
        env = production_env(database_url=database_url, redis_url=redis_url, wechat_base="http://127.0.0.1:9/")
        subprocess_run([sys.executable, "manage.py", "migrate", "-v0"], code_root, env)
        os.environ.update(env)
        sys.path.insert(0, str(code_root))  # the publisher runs the server's code too
        import django

        django.setup()
        tokens, streams = make_residents(args.clients, neighborhoods)

        stack.server_port = args.port or free_port(stack.ports)
        server = stack.spawn(
            "uvicorn",
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(stack.server_port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
             "--lifespan", "off", "--no-access-log", "--log-level", "warning", "--backlog", "4096",
             # As deployed (bench.stack.UVICORN_WS_FLAGS), or with compression on for --deflate.
             *(["--ws-per-message-deflate", "true", "--ws-max-size", "65536"] if args.deflate else UVICORN_WS_FLAGS)],
            env=env, cwd=code_root,
        )
        base = f"http://127.0.0.1:{stack.server_port}"
        wait_healthy(base, stack)
        time.sleep(1.0)
        rss_idle = proc_status(server.pid, "VmRSS")

        ctx = mp.get_context("spawn")
        ready, results, stop, received = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("q", 0)
        plan = [(tokens[i], streams[i % neighborhoods]) for i in range(args.clients)]
        plan_streams = [stream for _token, stream in plan]
        chunks = [plan[i :: args.client_processes] for i in range(args.client_processes)]
        started = time.monotonic()
        clients = [
            ctx.Process(target=client_process, args=(base, chunk, args.attempts, ready, stop, results, received,
                                                      args.connect_rate / args.client_processes), daemon=True)
            for chunk in chunks
        ]
        for process in clients:
            process.start()
        connected = reported = 0
        while reported < args.clients:
            connected += ready.get(timeout=900)
            reported += 1
        connect_seconds = time.monotonic() - started
        time.sleep(2.0)
        rss_connected = proc_status(server.pid, "VmRSS")

        commits: dict[int, float] = {}
        published: dict[str, list[int]] = {stream: [] for stream in streams}
        cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
        publish_all(args.rate, args.seconds, streams, commits, published)
        publish_wall = time.monotonic() - wall_before
        # Drain: wait until every expected frame has landed, or nothing more came for 10 s.
        expected = sum(len(published[stream]) * streams_sockets for stream, streams_sockets in
                       zip(streams, [plan_streams.count(stream) for stream in streams], strict=True))
        last, idle_since = -1, time.monotonic()
        while received.value < expected and time.monotonic() - idle_since < 10:
            time.sleep(0.5)
            if received.value != last:
                last, idle_since = received.value, time.monotonic()
        cpu_used, wall_used = cpu_seconds(server.pid) - cpu_before, time.monotonic() - wall_before
        rss_end = proc_status(server.pid, "VmRSS")
        stop.set()
        seen, client_cpu = [], 0.0
        for _ in clients:
            part, cpu = results.get(timeout=300)
            seen += part
            client_cpu += cpu
        for process in clients:
            process.join(timeout=30)

        report(args, neighborhoods, nofile, code_root, seen, commits, published, connect_seconds,
               rss_idle, rss_connected, rss_end, cpu_used, wall_used, publish_wall)
        print(f"client processes' CPU over the whole run (connect + publish + drain): {client_cpu:.1f} s")
        errors = [line for line in stack.full_log("uvicorn").splitlines() if "Error" in line or "Traceback" in line]
        if errors:
            print(f"server log: {len(errors)} error lines, first: {errors[0][:300]}")
        return 0
    finally:
        # A second SIGTERM (`timeout` passing its own on, a second kill) must not cut the stop short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


def subprocess_run(cmd, cwd, env) -> None:
    import subprocess

    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def wait_healthy(base: str, stack) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        stack.check_alive()
        time.sleep(0.2)
    raise RuntimeError("uvicorn did not come up:\n" + stack.tail("uvicorn"))


def make_residents(count: int, neighborhoods: int) -> tuple[list[str], list[str]]:
    """`count` residents spread over `neighborhoods` of one street, each with a token (bulk)."""
    import secrets
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from residents.models import ApiToken, Membership, Region, User, _hash_token

    run = secrets.token_hex(3)
    district, _ = Region.objects.get_or_create(level="district", code="310113000000", defaults={"name": "宝山区"})
    street, _ = Region.objects.get_or_create(
        level="street", code="310113003000", defaults={"name": "友谊路街道", "parent": district}
    )
    homes = [
        Region.objects.get_or_create(
            level="neighborhood", code=f"310113003{n + 1:03d}", defaults={"name": f"测试{n + 1}村居委会", "parent": street}
        )[0]
        for n in range(neighborhoods)
    ]
    users = User.objects.bulk_create(
        [User(username=f"ws{run}-{i}", openid=f"ws{run}-{i}") for i in range(count)], batch_size=2000
    )
    Membership.objects.bulk_create(
        [Membership(user=u, neighborhood=homes[i % neighborhoods], status="approved", is_current=True) for i, u in enumerate(users)],
        batch_size=2000,
    )
    raws = [ApiToken.PREFIX + secrets.token_urlsafe(32) for _ in users]
    expires = timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS)
    ApiToken.objects.bulk_create(
        [ApiToken(user=u, key_hash=_hash_token(raw), expires_at=expires) for u, raw in zip(users, raws, strict=True)],
        batch_size=2000,
    )
    return raws, [f"neighborhood.{home.pk}" for home in homes]


def publish_all(rate: float, seconds: float, streams: list[str], commits: dict, published: dict) -> None:
    from django.db import transaction

    from notifications.realtime import publish_on_commit

    total = int(rate * seconds)
    start = time.monotonic()
    for seq in range(total):
        stream = streams[seq % len(streams)]
        due = start + seq / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with transaction.atomic():
            # Registered before publish_on_commit's hook, so it runs first, right after COMMIT.
            transaction.on_commit(lambda seq=seq: commits.__setitem__(seq, time.time()))
            event = publish_on_commit(stream, "bench.tick", {"seq": seq})
        published[stream].append(event.id)


def report(args, neighborhoods, nofile, code_root, seen, commits, published, connect_seconds,
           rss_idle, rss_connected, rss_end, cpu_used, wall_used, publish_wall) -> None:
    failed = [s for s in seen if s["failed"] is not None]
    ok = [s for s in seen if s["failed"] is None and s["connects"] > 0]
    samples, lost, doubled, reconnects, resynced = [], 0, 0, 0, 0
    sockets_with_loss = sockets_with_doubles = 0
    for s in ok:
        expected = {event_id for event_id in published[s["stream"]] if event_id > s["first_last_id"]}
        live_ids = [event_id for event_id, _seq, _t in s["live"]]
        got = set(live_ids) | {event_id for event_id, _seq in s["resynced"]}
        missing = len(expected - got)
        twice = len(live_ids) - len(set(live_ids))
        lost += missing
        doubled += twice
        sockets_with_loss += missing > 0
        sockets_with_doubles += twice > 0
        reconnects += s["connects"] - 1
        resynced += len(s["resynced"])
        samples += [(t - commits[seq]) * 1000 for _id, seq, t in s["live"] if seq in commits]
    connected = len(ok)
    deliveries_expected = sum(len(published[s["stream"]]) for s in ok)
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs (shared), Python {platform.python_version()}, "
          f"load avg {os.getloadavg()[0]:.1f}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; server code: {code_root}; ulimit -n {nofile}")
    print(f"server: 1 uvicorn process, DJANGO_DEBUG=false, PostgreSQL, Redis (channels-redis pub/sub), "
          f"permessage-deflate {'on' if args.deflate else 'off'}; clients: {args.client_processes} processes")
    print(f"sockets: {args.clients} asked, {connected} connected and subscribed ({len(failed)} could not connect"
          + (f", first: {failed[0]['failed']}" if failed else "") + f") in {connect_seconds:.0f} s; "
          f"{neighborhoods} neighborhood streams ({args.clients // neighborhoods} sockets each)")
    print(f"events: {len(commits)} at {args.rate:g}/s over {args.seconds:g} s → {deliveries_expected} (socket, event) deliveries expected "
          f"({deliveries_expected / publish_wall:.0f} frames/s); published in {publish_wall:.1f} s, "
          f"drained {wall_used - publish_wall:.1f} s after")
    print(f"delivered live: {len(samples)}; resynced: {resynced}; lost (not received by the end of the drain): "
          f"{lost} ({sockets_with_loss} sockets); "
          f"doubled: {doubled} ({sockets_with_doubles} sockets); reconnects: {reconnects}; "
          f"told to come back (503 or 1013, server_busy) while connecting: {sum(s['busy'] for s in seen)}")
    if samples:
        print(f"commit→receipt: p50 {statistics.median(samples):.1f} ms, p99 {percentile(samples, 99):.1f} ms, "
              f"max {max(samples):.1f} ms")
    per_socket = (rss_connected - rss_idle) / max(connected, 1)
    print(f"server RSS: idle {rss_idle / 1024:.1f} MiB, {connected} sockets {rss_connected / 1024:.1f} MiB "
          f"({per_socket:.1f} KiB per socket), after publishing {rss_end / 1024:.1f} MiB")
    print(f"server CPU while publishing and draining: {cpu_used:.1f} s over {wall_used:.1f} s ({100 * cpu_used / wall_used:.0f}% of one core), "
          f"{1e6 * cpu_used / max(len(samples), 1):.0f} µs per frame delivered")


if __name__ == "__main__":
    sys.exit(main())
