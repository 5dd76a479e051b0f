"""The realtime hub (notifications.fanout): one subscription per stream per process, one
encoding per event, fan-out from memory — and every guarantee of the per-socket design kept.

Runs on whichever layer the settings give (the in-memory layer with the event relay on the
default pass; channels-redis on CI's PostgreSQL + Redis pass).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connections
from rest_framework.test import APIClient

from notifications import fanout, relay
from notifications.groups import event_message, group_name
from tests import factories as f
from tests.notifications.sockets import connect, publish, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def layer_members(stream: str) -> set[str]:
    """The channels this process has in the stream's layer group (must run on the hub's loop)."""
    layer = get_channel_layer()
    if relay.delivers_for(layer):
        return set(layer.groups.get(group_name(stream), {}))
    inner = layer._get_layer()  # channels-redis pub/sub: one loop layer per event loop
    return set(inner.groups.get(inner._get_group_channel_name(group_name(stream)), set()))


def test_two_sockets_on_one_stream_share_one_subscription_and_one_encoding(neighborhood):
    tokens = [f.token_for(f.resident(neighborhood)) for _ in range(2)]
    stream = f"neighborhood.{neighborhood.pk}"

    async def scenario():
        first, second = [await connect(token) for token in tokens]
        for socket in (first, second):
            assert (await subscribe(socket, stream))["type"] == "subscribed"
        hub = fanout.hub(get_channel_layer())
        assert hub.local_sockets(stream) == 2
        # One membership for the process (none at all where the relay feeds the hub).
        assert layer_members(stream) == (set() if hub.via_relay else {hub.channel})
        event_id = await sync_to_async(publish)(stream, "post.created", {"post_id": 7})
        one, other = await first.receive_output(timeout=2), await second.receive_output(timeout=2)
        assert one is other  # the same frame, built once
        assert one["type"] == "websocket.send" and f'"id": {event_id}' in one["text"]
        assert await first.receive_nothing(timeout=0.3) and await second.receive_nothing(timeout=0.1)
        await first.disconnect()
        assert hub.local_sockets(stream) == 1
        assert layer_members(stream) == (set() if hub.via_relay else {hub.channel})
        await second.disconnect()
        assert hub.local_sockets(stream) == 0 and layer_members(stream) == set()

    async_to_sync(scenario)()


def test_a_socket_of_another_neighborhood_gets_nothing(neighborhood, other_neighborhood):
    here, there = f.token_for(f.resident(neighborhood)), f.token_for(f.resident(other_neighborhood))
    stream, other_stream = f"neighborhood.{neighborhood.pk}", f"neighborhood.{other_neighborhood.pk}"

    async def scenario():
        resident, outsider = await connect(here), await connect(there)
        assert (await subscribe(resident, stream))["type"] == "subscribed"
        assert (await subscribe(outsider, other_stream))["type"] == "subscribed"
        # Authorization stays per socket: the hub already holds `stream`, the outsider is still refused.
        assert (await subscribe(outsider, stream))["error"]["code"] == "stream_not_found"
        await sync_to_async(publish)(stream, "post.created", {"post_id": 1})
        assert (await resident.receive_json_from(timeout=2))["stream"] == stream
        assert await outsider.receive_nothing(timeout=0.5)
        for socket in (resident, outsider):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_a_socket_closed_at_logout_stops_receiving_and_its_neighbor_goes_on(neighborhood):
    leaving, staying = f.token_for(f.resident(neighborhood)), f.token_for(f.resident(neighborhood))
    stream = f"neighborhood.{neighborhood.pk}"

    def logout() -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {leaving}")
        return client.post("/api/v1/auth/logout", {}, format="json").status_code

    async def scenario():
        gone, kept = await connect(leaving), await connect(staying)
        for socket in (gone, kept):
            assert (await subscribe(socket, stream))["type"] == "subscribed"
        hub = fanout.hub(get_channel_layer())
        assert await sync_to_async(logout)() in (200, 204)
        assert (await gone.receive_json_from(timeout=2))["error"]["code"] == "session_revoked"
        assert (await gone.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}
        assert hub.local_sockets(stream) == 1
        event_id = await sync_to_async(publish)(stream, "post.created", {"post_id": 2})
        assert (await kept.receive_json_from(timeout=2))["id"] == event_id
        assert await gone.receive_nothing(timeout=0.3)
        await kept.disconnect()

    async_to_sync(scenario)()


def test_frames_are_forwarded_while_the_database_thread_is_busy(neighborhood):
    """No database hop for a broadcast: with the thread that runs the consumers' database calls
    held, an event still reaches the socket (channels' dispatch would wait for that thread)."""
    token = f.token_for(f.resident(neighborhood))
    stream = f"neighborhood.{neighborhood.pk}"
    release = threading.Event()

    def hold_the_database_thread() -> None:
        release.wait(timeout=10)

    def publish_from_another_thread(box: list[int]) -> None:
        try:
            box.append(publish(stream, "post.created", {"post_id": 3}))
        finally:
            connections.close_all()

    async def scenario():
        socket = await connect(token)
        assert (await subscribe(socket, stream))["type"] == "subscribed"
        held = asyncio.ensure_future(sync_to_async(hold_the_database_thread, thread_sensitive=True)())
        await asyncio.sleep(0.05)
        box: list[int] = []
        writer = threading.Thread(target=publish_from_another_thread, args=(box,))
        writer.start()
        try:
            frame = await socket.receive_json_from(timeout=5)
            assert not held.done()  # it arrived while the thread was still held
        finally:
            release.set()
            await held
            writer.join()
        assert frame["id"] == box[0]
        await socket.disconnect()

    async_to_sync(scenario)()


class Recorder:
    """A socket as the hub sees it: an inbox and a forward."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.frames: list[dict] = []

    async def forward(self, frame: dict) -> None:
        self.frames.append(frame)


def test_frames_that_arrive_before_the_answer_are_held_then_sent_in_order():
    """Between joining a stream and answering `subscribed` a socket is sent nothing; what came
    meanwhile goes out right after the answer, then frames flow directly — none lost, none twice."""

    async def scenario():
        layer = get_channel_layer()
        hub = fanout.Hub(asyncio.get_running_loop(), layer)
        socket = Recorder()
        stream = "neighborhood.77"
        await hub.subscribe(socket, stream)
        await hub.deliver(event_message(1, stream, "post.created", {}))
        await hub.deliver(event_message(2, stream, "post.created", {}))
        assert socket.frames == []
        held = hub.go_live(socket, stream)
        assert [frame["text"] for frame in held] == [
            fanout.frame_text(event_message(n, stream, "post.created", {})) for n in (1, 2)
        ]
        await hub.deliver(event_message(3, stream, "post.created", {}))  # still held: not live yet
        assert [frame["text"] for frame in hub.go_live(socket, stream)] == [
            fanout.frame_text(event_message(3, stream, "post.created", {}))
        ]
        assert hub.go_live(socket, stream) == []  # now live
        await hub.deliver(event_message(4, stream, "post.created", {}))
        assert len(socket.frames) == 1 and '"id": 4' in socket.frames[0]["text"]
        await hub.unsubscribe(socket, stream)
        await hub.deliver(event_message(5, stream, "post.created", {}))
        assert len(socket.frames) == 1
        if hub.task is not None:
            hub.task.cancel()

    async_to_sync(scenario)()


def test_a_socket_closes_while_the_database_thread_is_busy(neighborhood):
    """No database hop for a close either (notifications/socket_base.py): with the thread that runs
    the consumers' database calls held, a closing socket leaves the hub and its consumer ends —
    channels' own `websocket_disconnect` would wait for that thread, once per closing socket."""
    token = f.token_for(f.resident(neighborhood))
    stream = f"neighborhood.{neighborhood.pk}"
    release = threading.Event()

    async def scenario():
        socket = await connect(token)
        assert (await subscribe(socket, stream))["type"] == "subscribed"
        hub = fanout.hub(get_channel_layer())
        held = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(10))
        await asyncio.sleep(0.05)
        try:
            await socket.disconnect(timeout=2)
            assert socket.future.done() and not socket.future.cancelled()
            assert hub.local_sockets(stream) == 0
            assert not held.done()  # all of it while the thread was still held
        finally:
            release.set()
            await held

    async_to_sync(scenario)()
