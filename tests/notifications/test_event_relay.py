"""Without Redis, events raised in any process reach open sockets (notifications.relay).

In-process here on channels' in-memory layer (forced, so these run with REDIS_URL set too):
an event row this process did not publish arrives, this process's own arrive once, an id that
commits after a higher one is not lost, and one relay serves all of a process's sockets. Then
the journey of `make run` with real processes: daphne and `db_worker` on one SQLite file, no
Redis, the overdue escalation raised by the worker reaching an officer's socket within 2 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from bench.stack import Stack, _wait_for, free_port, http_ok
from notifications import relay
from notifications.models import Event
from notifications.realtime import publish_on_commit
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 2.0

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def in_memory_layer(settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def connect(token: str) -> WebsocketCommunicator:
    from config.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/v1/?token={token}")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def subscribe(communicator, stream: str) -> dict:
    await communicator.send_json_to({"action": "subscribe", "stream": stream})
    ack = await communicator.receive_json_from(timeout=2)
    assert ack["type"] == "subscribed", ack
    return ack


def test_an_event_another_process_wrote_reaches_the_socket(in_memory_layer, neighborhood):
    token = f.token_for(f.resident(neighborhood))
    stream = f"neighborhood.{neighborhood.pk}"

    def written_elsewhere() -> int:
        # What another process leaves behind: the row, and no message on this process's layer.
        return Event.objects.create(stream=stream, type="post.created", payload={"post_id": 5}).id

    async def scenario():
        socket = await connect(token)
        await subscribe(socket, stream)
        event_id = await sync_to_async(written_elsewhere)()
        started = time.monotonic()
        frame = await socket.receive_json_from(timeout=DEADLINE_SECONDS)
        assert time.monotonic() - started < DEADLINE_SECONDS
        assert frame == {"id": event_id, "stream": stream, "type": "post.created", "payload": {"post_id": 5}}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_an_event_of_this_process_arrives_once(in_memory_layer, neighborhood):
    token = f.token_for(f.resident(neighborhood))
    stream = f"neighborhood.{neighborhood.pk}"

    def publish() -> int:
        with transaction.atomic():
            return publish_on_commit(stream, "post.created", {"post_id": 6}).id

    async def scenario():
        socket = await connect(token)
        await subscribe(socket, stream)
        event_id = await sync_to_async(publish)()
        assert (await socket.receive_json_from(timeout=DEADLINE_SECONDS))["id"] == event_id
        # Several polls later: the relay does not hand it out a second time.
        assert await socket.receive_nothing(timeout=1.0)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_an_id_that_commits_after_a_higher_one_is_still_relayed(in_memory_layer, neighborhood):
    """PostgreSQL hands out ids at INSERT, not at COMMIT: the relay may see id n+2 before n+1."""
    token = f.token_for(f.resident(neighborhood))
    stream = f"neighborhood.{neighborhood.pk}"

    def write(event_id: int) -> None:
        Event.objects.create(id=event_id, stream=stream, type="post.created", payload={"n": event_id})

    async def scenario():
        socket = await connect(token)
        base = (await subscribe(socket, stream))["last_id"]
        base = max(base, await sync_to_async(lambda: Event.objects.order_by("-id").values_list("id", flat=True).first() or 0)())
        await sync_to_async(write)(base + 2)
        assert (await socket.receive_json_from(timeout=DEADLINE_SECONDS))["id"] == base + 2
        await sync_to_async(write)(base + 1)
        assert (await socket.receive_json_from(timeout=DEADLINE_SECONDS))["id"] == base + 1
        await socket.disconnect()

    async_to_sync(scenario)()


def test_one_relay_serves_every_socket_of_the_process_and_stops_with_the_last(in_memory_layer, neighborhood):
    users = [f.resident(neighborhood) for _ in range(3)]
    tokens = [f.token_for(user) for user in users]

    async def scenario():
        sockets = [await connect(token) for token in tokens]
        for socket, user in zip(sockets, users, strict=True):
            await subscribe(socket, f"user.{user.pk}")  # answered once its connect has finished
        relays = list(relay._relays.values())
        assert len(relays) == 1 and relays[0].sockets == 3
        for socket in sockets:
            await socket.disconnect()
        await asyncio.wait_for(relays[0].task, timeout=2)

    async_to_sync(scenario)()


# --- make run's processes ------------------------------------------------------------------------

SETUP = """
import datetime as dt
from django.utils import timezone
from residents.models import ApiToken
from services.actions.requests import check_create_service_request, do_create_service_request
from services.models import ServiceItem, ServiceRequest
from tests import factories as f
street = f.StreetFactory(parent=f.DistrictFactory(name="宝山区", code="310113000000"), name="友谊路街道", code="310113001000")
neighborhood = f.NeighborhoodFactory(parent=street, name="宝林一村居委会", code="310113001001")
officer = f.officer(street, nickname="刘科长")
son = f.resident(neighborhood)
f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, birth_year=1938, is_default=True)
req = do_create_service_request(check_create_service_request(actor=son, item=ServiceItem.objects.get(code="meal-delivery"), extra={"diet": "低盐", "time_slot": "午餐"}))
ServiceRequest.objects.filter(pk=req.pk).update(accept_due_at=timezone.now() - dt.timedelta(minutes=5))
from services.actions.case_mirror import resync_case; resync_case(req.pk)  # the engine's sweep reads the case
print(street.pk, officer.pk, req.pk, ApiToken.issue(officer)[1])
"""
ENQUEUE_OVERDUE_SWEEP = "from cases.tasks import escalate_overdue_cases; escalate_overdue_cases.enqueue()"
PUBLISH_FROM_A_COMMAND = """
from django.db import transaction
from notifications.realtime import publish_on_commit
with transaction.atomic():
    publish_on_commit("user.{officer}", "probe.from_shell", {{"ok": True}})
"""


def _committed_at(db_file: Path, event_id: int) -> float:
    with sqlite3.connect(db_file) as db:
        (created_at,) = db.execute("SELECT created_at FROM notifications_event WHERE id = ?", (event_id,)).fetchone()
    return dt.datetime.fromisoformat(created_at).replace(tzinfo=dt.UTC).timestamp()


@pytest.mark.slow
def test_overdue_escalation_raised_by_the_worker_reaches_the_officers_socket(tmp_path):
    db_file = tmp_path / "make-run.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "SHEQUTONG_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "true",  # the embedded defaults: SQLite, no Redis, the in-memory layer
            "DATABASE_URL": f"sqlite:///{db_file}",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "WECHAT_API_BASE": "http://127.0.0.1:9/",  # no template is set up: nothing is pushed
            "PYTHONUNBUFFERED": "1",
        }
    )

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput", "-v0")
    street_id, officer_id, request_id, token = manage("shell", "-c", SETUP).split()[-4:]
    stack = Stack(workdir=tmp_path / "logs")
    port = free_port(stack.ports)
    try:
        stack.spawn("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                    env=env)
        stack.spawn("db_worker", [sys.executable, "manage.py", "db_worker", "--queue-name", "default,wechat", "--no-reload"],
                    env=env)
        _wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), "daphne", 60)
        street_stream, own_stream = f"staff.street.{street_id}", f"user.{officer_id}"

        async def scenario() -> list[tuple[float, dict]]:
            import websockets

            received: list[tuple[float, dict]] = []
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/v1/?token={token}") as ws:
                for stream in (street_stream, own_stream):
                    await ws.send(json.dumps({"action": "subscribe", "stream": stream}))
                    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "subscribed"

                async def read() -> None:
                    # Frames are stamped as they arrive, while the other processes run.
                    async for raw in ws:
                        received.append((time.time(), json.loads(raw)))

                async def until(type: str, timeout: float) -> None:
                    deadline = time.monotonic() + timeout
                    while not any(frame.get("type") == type for _, frame in received):
                        assert time.monotonic() < deadline, f"no {type} frame within {timeout} s: {received}"
                        await asyncio.sleep(0.05)

                reader = asyncio.create_task(read())
                try:
                    # The worker picks the task up within its own poll; the clock below starts at the write.
                    await asyncio.to_thread(manage, "shell", "-c", ENQUEUE_OVERDUE_SWEEP)
                    await until("service_request.overdue", 30)
                    await until("notification.created", 5)
                    await asyncio.to_thread(manage, "shell", "-c", PUBLISH_FROM_A_COMMAND.format(officer=officer_id))
                    await until("probe.from_shell", 10)
                    await asyncio.sleep(1.0)  # room for a second copy of anything, which must not come
                finally:
                    reader.cancel()
            return received

        received = asyncio.run(scenario())
    finally:
        stack.stop()

    ids = [frame["id"] for _, frame in received]
    assert len(ids) == len(set(ids)), ids
    by_type = {frame["type"]: (at, frame) for at, frame in received}
    overdue = by_type["service_request.overdue"][1]
    assert overdue["stream"] == street_stream and overdue["payload"]["id"] == int(request_id)
    assert overdue["payload"]["accept_due_at"].endswith("+08:00")
    latencies = {type: at - _committed_at(db_file, frame["id"]) for type, (at, frame) in by_type.items()}
    for type, latency in latencies.items():
        print(f"{type}: written in another process -> frame on the socket after {latency * 1000:.0f} ms")
    assert set(latencies) >= {"service_request.overdue", "notification.created", "probe.from_shell"}
    assert all(latency < DEADLINE_SECONDS for latency in latencies.values()), latencies
