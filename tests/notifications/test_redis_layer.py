"""With REDIS_URL the channel layer is Redis; with Redis down, writes still succeed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import override_settings

from notifications.models import Event, Notification
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_write_succeeds_when_redis_is_down(api_for, db, django_capture_on_commit_callbacks, caplog):
    user = f.UserFactory()
    Notification.objects.create(recipient=user, kind="t", title="x", event_key="k:1")
    dead = f"redis://127.0.0.1:{_closed_port()}/0"
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = api_for(user).post("/api/v1/notifications/read-all")
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["updated"] == 1
    assert Notification.objects.get().read_at is not None
    # The event is still in the log, so clients resync once Redis is back.
    assert Event.objects.filter(stream=f"user.{user.pk}", type="notification.read").exists()
    assert "realtime broadcast" in caplog.text
    assert elapsed < 5


def _free_port() -> int:
    return _closed_port()


def _wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


@pytest.mark.redis
@pytest.mark.slow
def test_event_caused_on_one_daphne_reaches_a_client_on_another(tmp_path):
    """Two daphne processes, one Redis, one database file (their own SQLite file, migrated here, so
    the test does not depend on the in-memory test database; on CI with PostgreSQL it is the same)."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL not set")
    import asyncio
    import json
    import urllib.request

    import websockets

    db_file = tmp_path / "two-daphnes.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{db_file}",
        "REDIS_URL": redis_url,
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = (
        "from residents.models import User, ApiToken;from notifications.models import Notification;"
        "a=User.objects.create(username='a',openid='a');"
        "Notification.objects.create(recipient=a,kind='t',title='未读',event_key='t:1');"
        "print(a.pk, ApiToken.issue(a)[1])"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    user_id, token = out.stdout.split()[-2:]
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(p), "config.asgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    try:
        for p in ports:
            _wait_for_port(p)
        stream = f"user.{user_id}"

        def write_on_second_server() -> dict:
            request = urllib.request.Request(
                f"http://127.0.0.1:{ports[1]}/api/v1/notifications/read-all",
                method="POST",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        async def scenario():
            async with websockets.connect(f"ws://127.0.0.1:{ports[0]}/ws/v1/?token={token}") as ws:
                await ws.send(json.dumps({"action": "subscribe", "stream": stream}))
                ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert ack["type"] == "subscribed"
                assert (await asyncio.to_thread(write_on_second_server))["updated"] == 1
                received = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert received["stream"] == stream and received["type"] == "notification.read"
                assert received["id"] > ack["last_id"]

        asyncio.run(scenario())
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)


@pytest.mark.redis
def test_a_commits_events_reach_each_groups_listeners_in_order_through_one_pipeline():
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL not set")
    import asyncio

    from channels_redis.pubsub import RedisPubSubChannelLayer

    from notifications.realtime import _publish_pipelined, group_name

    async def scenario() -> list:
        layer = RedisPubSubChannelLayer(hosts=[redis_url])
        try:
            listeners = {}
            for stream in ("user.1", "staff.neighborhood.9"):
                listeners[stream] = await layer.new_channel()
                await layer.group_add(group_name(stream), listeners[stream])
            messages = [
                ("user.1", {"type": "stq.event", "id": 1, "event": "a"}),
                ("staff.neighborhood.9", {"type": "stq.event", "id": 2, "event": "b"}),
                ("user.1", {"type": "stq.event", "id": 3, "event": "c"}),
                ("user.2", {"type": "stq.event", "id": 4, "event": "nobody listens"}),
            ]
            await _publish_pipelined(layer, messages)
            got = [await asyncio.wait_for(layer.receive(listeners["user.1"]), 5) for _ in range(2)]
            got.append(await asyncio.wait_for(layer.receive(listeners["staff.neighborhood.9"]), 5))
            return [m["id"] for m in got]
        finally:
            await layer.flush()

    assert asyncio.run(scenario()) == [1, 3, 2]
