"""Publish realtime events on commit (never for a rolled-back change).

Streams: `neighborhood.<id>`, `user.<id>`, `staff.neighborhood.<id>`, `staff.street.<id>`,
`topic.<id>`, ... A stream name maps to a channels group name; the event row gives
clients an increasing id to resync from.

Which path an event takes to the sockets depends on the channel layer:
- channels-redis (`REDIS_URL`): published through Redis on commit, which reaches every process.
- the in-memory layer (embedded default): the row is the message. After commit this only wakes
  the local relay (notifications.relay), and each server process's relay reads the new rows and
  hands them to its own sockets, so events raised by the worker, the scheduler or a command
  arrive too. Publishing through the in-memory layer as well would deliver this process's
  events twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import transaction

from notifications import relay
from notifications.groups import event_message, group_name
from notifications.models import Event

logger = logging.getLogger(__name__)


__all__ = ["broadcast_on_commit", "group_name", "publish_many_on_commit", "publish_on_commit"]


def publish_on_commit(stream: str, type: str, payload: dict[str, Any]) -> Event:
    """Record the event now (in the caller's transaction) and broadcast it after commit."""
    event = Event.objects.create(stream=stream, type=type, payload=payload)
    broadcast_on_commit([(event.id, stream, type, payload)])
    return event


def publish_many_on_commit(events: list[tuple[str, str, dict[str, Any]]]) -> list[Event]:
    """`publish_on_commit` for a batch of (stream, type, payload): one INSERT for all the rows
    (ids are read back on PostgreSQL and SQLite ≥ 3.35) and one on-commit hook that broadcasts
    them in order."""
    if not events:
        return []
    rows = Event.objects.bulk_create([Event(stream=stream, type=type, payload=payload) for stream, type, payload in events])
    broadcast_on_commit([(row.id, row.stream, row.type, row.payload) for row in rows])
    return rows


def broadcast_on_commit(events: list[tuple[int, str, str, dict[str, Any]]]) -> None:
    """Broadcast events already written to the log, as (id, stream, type, payload), in order,
    once the transaction commits: for writers that INSERT their events themselves."""
    if not events:
        return
    messages = [(stream, event_message(event_id, stream, type, payload)) for event_id, stream, type, payload in events]

    def broadcast_all() -> None:
        _broadcast_many(messages)

    transaction.on_commit(broadcast_all)


def _broadcast_many(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """All of a batch's sends in one hop to the event loop (a hop per message cost a thread
    switch and a wait each: ~8 per one-tap create)."""
    layer = get_channel_layer()
    if layer is None:
        return
    if relay.delivers_for(layer):
        relay.wake()
        return

    # Live delivery is best effort (clients resync over HTTP from the event log), and this runs
    # after the commit inside the request: a dead or stuck Redis must cost it a bounded wait.
    budget = getattr(settings, "REDIS_TIMEOUT_SECONDS", 0.5) * 2

    async def send_all() -> None:
        if isinstance(layer, RedisPubSubChannelLayer):
            try:
                await asyncio.wait_for(_publish_pipelined(layer, messages), budget)
            except Exception as exc:
                logger.warning("realtime broadcast of %d events failed: %r", len(messages), exc)
            return
        for stream, message in messages:
            try:
                await asyncio.wait_for(layer.group_send(group_name(stream), message), budget)
            except Exception as exc:
                logger.warning("realtime broadcast to %s failed: %r", stream, exc)

    _run_from_sync(send_all)


def _run_from_sync(send_all) -> None:
    """Run the sends from sync code. A sync caller in a thread whose event loop is running (a
    command called from async code; a test driving Playwright's sync API, whose loop runs in the
    test's thread) cannot block that loop with `async_to_sync`: it sends from a short-lived
    thread instead and waits for it, bounded by the same budget as the sends."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(send_all)()
        return
    sender = threading.Thread(target=async_to_sync(send_all), name="realtime-broadcast", daemon=True)
    sender.start()
    sender.join()


async def _publish_pipelined(layer: RedisPubSubChannelLayer, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """What `group_send` does for each message (one PUBLISH on the group's channel), in one
    pipeline per shard: a one-tap create's seven events were seven round trips and a tenth of
    its event loop's CPU. Uses channels-redis 4.3's pub/sub internals (pinned in requirements.txt;
    tests/notifications/test_redis_layer.py and tests/scale/test_two_processes.py cross real
    Redis with it)."""
    inner = layer._get_layer()
    by_shard: dict[Any, list[tuple[str, bytes]]] = {}
    for stream, message in messages:
        channel = inner._get_group_channel_name(group_name(stream))
        by_shard.setdefault(inner._get_shard(channel), []).append((channel, layer.serialize(message)))
    for shard, items in by_shard.items():
        async with shard._lock:
            shard._ensure_redis()
            pipe = shard._redis.pipeline(transaction=False)
            for channel, data in items:
                pipe.publish(channel, data)
            await pipe.execute()
