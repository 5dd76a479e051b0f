"""WebSocket fan-out benchmark: N clients in one neighborhood on one daphne process with Redis.

    /tmp/venv/bin/python bench/ws_bench.py --clients 1000 --events 50

Starts its own redis-server and daphne on loopback (free ports), a fresh SQLite file database
in a temp directory, N residents with API tokens; opens N WebSocket clients (the `websockets`
package), each subscribed to `neighborhood.<id>`; then publishes events the way an action does
(`publish_on_commit` in a transaction) from this process and measures, for every
(client, event), the time from commit to receipt. Prints p50/p99 latency and daphne's RSS
growth per connection. Stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port}")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between events")
    parser.add_argument(
        "--layer", choices=["core", "pubsub"], default="core",
        help="core: the RedisChannelLayer config/settings.py uses; pubsub: RedisPubSubChannelLayer",
    )
    args = parser.parse_args()

    redis_server = shutil.which("redis-server")
    if not redis_server:
        print("redis-server not found (apt-get install redis-server)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    redis_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings" if args.layer == "core" else "bench.settings_pubsub",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    processes: list[subprocess.Popen] = []
    try:
        processes.append(
            subprocess.Popen(
                [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )
        wait_for_port(redis_port)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import transaction

        from notifications.realtime import publish_on_commit
        from residents.models import ApiToken, Membership, Region, User

        district = Region.objects.create(level="district", code="310113000000", name="宝山区")
        street = Region.objects.create(level="street", code="310113003000", name="友谊路街道", parent=district)
        neighborhood = Region.objects.create(level="neighborhood", code="310113003001", name="宝林一村居委会", parent=street)
        users = User.objects.bulk_create([User(username=f"bench{i}", openid=f"bench{i}") for i in range(args.clients)])
        Membership.objects.bulk_create(
            [Membership(user=u, neighborhood=neighborhood, status="approved", is_current=True) for u in users]
        )
        tokens = [ApiToken.issue(u)[1] for u in users]
        stream = f"neighborhood.{neighborhood.pk}"

        daphne = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(http_port), "config.asgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "daphne.log", "w"),
        )
        processes.append(daphne)
        wait_for_port(http_port)
        time.sleep(1.0)
        rss_idle = rss_kib(daphne.pid)

        commits: dict[int, float] = {}

        def publish(seq: int) -> None:
            with transaction.atomic():
                # Registered before publish_on_commit's hook, so it runs first, right after COMMIT.
                transaction.on_commit(lambda: commits.__setitem__(seq, time.time()))
                publish_on_commit(stream, "bench.tick", {"seq": seq})

        async def run() -> tuple[list[float], int, float]:
            import websockets

            latencies: list[tuple[int, float]] = []
            received = [0]
            ready = asyncio.Event()
            subscribed = [0]
            failures: list[str] = []

            async def client(token: str) -> None:
                for attempt in range(5):  # a handshake refused under load is retried, as a real client would
                    try:
                        await _client(token)
                        return
                    except websockets.InvalidMessage as exc:
                        if attempt == 4:
                            failures.append(repr(exc)[:200])
                        await asyncio.sleep(1 + attempt)
                    except Exception as exc:
                        failures.append(repr(exc)[:200])
                        break
                if failures:
                    if subscribed[0] + len(failures) == args.clients:
                        ready.set()

            async def _client(token: str) -> None:
                async with websockets.connect(
                    f"ws://127.0.0.1:{http_port}/ws/v1/?token={token}", open_timeout=60, ping_interval=None
                ) as ws:
                    await ws.send(json.dumps({"action": "subscribe", "stream": stream}))
                    ack = json.loads(await ws.recv())
                    assert ack.get("type") == "subscribed", ack
                    subscribed[0] += 1
                    if subscribed[0] + len(failures) == args.clients:
                        ready.set()
                    while received[0] < args.clients * args.events:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=30)
                        except TimeoutError:
                            return
                        now = time.time()
                        message = json.loads(raw)
                        seq = message["payload"]["seq"]
                        if seq < 0:
                            return
                        latencies.append((seq, now))
                        received[0] += 1

            started = time.monotonic()
            tasks = []
            for i in range(0, args.clients, 50):  # connect in waves: the listen backlog is finite
                tasks += [asyncio.create_task(client(t)) for t in tokens[i : i + 50]]
                await asyncio.sleep(0.5)
            await asyncio.wait_for(ready.wait(), timeout=300)
            connect_seconds = time.monotonic() - started
            if failures:
                print(f"{len(failures)} clients failed, first: {failures[0]}", file=sys.stderr)
            await asyncio.sleep(1.0)
            rss_connected = rss_kib(daphne.pid)
            for seq in range(args.events):
                await asyncio.to_thread(publish, seq)
                await asyncio.sleep(args.interval)
            await asyncio.sleep(3)
            await asyncio.to_thread(publish, -1)  # tells the clients to stop
            await asyncio.wait(tasks, timeout=60)
            samples = [(now - commits[seq]) * 1000 for seq, now in latencies if seq in commits]
            return samples, rss_connected, connect_seconds

        samples, rss_connected, connect_seconds = asyncio.run(run())
        expected = args.clients * args.events
        per_connection = (rss_connected - rss_idle) / args.clients
        print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"date: {time.strftime('%Y-%m-%d %H:%M %z')}")
        print(f"channel layer: {args.layer}")
        print(f"clients: {args.clients} (all subscribed in {connect_seconds:.1f} s), events: {args.events}")
        print(f"deliveries: {len(samples)} of {expected} ({100 * len(samples) / expected:.2f}%)")
        if samples:
            print(
                f"commit→receipt latency: p50 {statistics.median(samples):.1f} ms, "
                f"p99 {percentile(samples, 99):.1f} ms, max {max(samples):.1f} ms"
            )
        print(f"daphne RSS: idle {rss_idle / 1024:.1f} MiB, with clients {rss_connected / 1024:.1f} MiB, "
              f"per connection {per_connection:.1f} KiB")
        if len(samples) != expected:
            print((workdir / "daphne.log").read_text()[-3000:], file=sys.stderr)
        return 0 if len(samples) == expected else 1
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
