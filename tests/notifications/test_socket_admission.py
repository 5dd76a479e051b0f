"""A reconnect storm: each server process checks at most WS_MAX_PENDING_HANDSHAKES tokens at
once (their database calls queue on channels' one database thread); a socket beyond that is
told `server_busy` and closed 1013, at once and without a database call, and the sockets already
being checked go on to subscribe as usual (notifications/consumers.py)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.utils import timezone

from notifications import consumers
from residents.models import ApiToken
from tests import factories as f
from tests.notifications.sockets import application, socket_for, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@override_settings(WS_MAX_PENDING_HANDSHAKES=1)
def test_a_socket_beyond_the_pending_handshakes_is_told_to_come_back(neighborhood):
    first_token, second_token = (f.token_for(f.resident(neighborhood)) for _ in range(2))
    stream = f"neighborhood.{neighborhood.pk}"
    release = threading.Event()

    async def scenario():
        # Hold the database thread: the first socket's token check waits behind it.
        held = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(10))
        await asyncio.sleep(0.05)
        first = WebsocketCommunicator(application(), f"/ws/v1/?token={first_token}")
        second = WebsocketCommunicator(application(), f"/ws/v1/?token={second_token}")
        try:
            assert (await first.connect())[0]
            await asyncio.sleep(0.05)
            assert consumers._pending_handshakes == 1
            assert (await second.connect())[0]
            refused = await second.receive_json_from(timeout=2)
            closed = await second.receive_output(timeout=2)
            assert not held.done()  # answered while the database thread was still held
        finally:
            release.set()
            await held
        assert refused["error"]["code"] == "server_busy"
        assert closed == {"type": "websocket.close", "code": consumers.CLOSE_TRY_AGAIN_LATER}
        assert (await subscribe(first, stream))["type"] == "subscribed"
        assert consumers._pending_handshakes == 0
        # Its turn came: the refused client reconnects and is served.
        again = WebsocketCommunicator(application(), f"/ws/v1/?token={second_token}")
        assert (await again.connect())[0]
        assert (await subscribe(again, stream))["type"] == "subscribed"
        for socket in (first, again):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_periodic_rechecks_wait_while_handshakes_are_pending(settings, neighborhood):
    """A storm: the backstop re-check of a socket already open waits while the process admits new
    sockets, and runs as soon as none is pending (a revoked token then closes 4401)."""
    settings.WS_RECHECK_SECONDS = 0.2
    user = f.resident(neighborhood)

    async def scenario():
        socket = await socket_for(user, f"neighborhood.{neighborhood.pk}")
        # Revoked without the control message (as if Redis had lost it): only the re-check sees it.
        await sync_to_async(ApiToken.objects.filter(user=user).update)(revoked_at=timezone.now())
        consumers._pending_handshakes += 1  # a handshake in progress elsewhere in this process
        try:
            assert await socket.receive_nothing(timeout=1.5)  # seven intervals: still waiting
        finally:
            consumers._pending_handshakes -= 1
        frame = await socket.receive_json_from(timeout=2)
        assert frame["error"]["code"] == "token_invalid"
        assert (await socket.receive_output(timeout=2))["code"] == 4401

    async_to_sync(scenario)()


@override_settings(WS_MAX_PENDING_HANDSHAKES=1)
def test_a_server_that_can_answer_http_turns_the_socket_away_before_the_upgrade(neighborhood):
    """uvicorn offers ASGI's `websocket.http.response`: the busy answer is an HTTP 503 with
    Retry-After and the error body, no upgrade, no frame, no close handshake."""
    token = f.token_for(f.resident(neighborhood))

    async def scenario():
        socket = WebsocketCommunicator(application(), f"/ws/v1/?token={token}")
        socket.scope["extensions"] = {"websocket.http.response": {}}
        consumers._pending_handshakes += 1  # the process is checking as many tokens as it takes
        try:
            await socket.send_input({"type": "websocket.connect"})
            start = await socket.receive_output(timeout=2)
            body = await socket.receive_output(timeout=2)
        finally:
            consumers._pending_handshakes -= 1
        assert start["type"] == "websocket.http.response.start"
        assert start["status"] == 503
        assert dict(start["headers"])[b"retry-after"] == b"2"
        assert body["type"] == "websocket.http.response.body"
        assert json.loads(body["body"])["error"]["code"] == "server_busy"
        await socket.send_input({"type": "websocket.disconnect", "code": 1006})  # the server closed it
        await socket.wait(timeout=2)
        # Nothing is left pending or open, and the next try, with room, is served.
        assert consumers._pending_handshakes == 0
        again = WebsocketCommunicator(application(), f"/ws/v1/?token={token}")
        again.scope["extensions"] = {"websocket.http.response": {}}
        assert (await again.connect())[0]
        assert (await subscribe(again, f"neighborhood.{neighborhood.pk}"))["type"] == "subscribed"
        await again.disconnect()

    async_to_sync(scenario)()
