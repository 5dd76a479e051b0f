"""Live events across processes without Redis: each ASGI server process reads the event log.

channels' in-memory layer (the embedded default, no `REDIS_URL`) only reaches sockets of the
process that sends, but events are raised everywhere: the task worker (overdue escalation,
outbox), the scheduler's jobs, management commands, another server process. Every event is
already a row (`Event`, written in the action's transaction, what `GET /api/v1/events` resyncs
from), so on this layer delivery reads those rows instead of trusting the sender:

- The first WebSocket that connects in a process starts that process's relay (one per event
  loop, i.e. one per daphne/uvicorn process); it stops when the last socket closes.
- The relay asks for `Event` rows with id > the last it saw (primary-key range, at most
  `BATCH`), every `POLL_SECONDS`, and hands each to the process's realtime hub
  (notifications.fanout), which forwards it to the stream's local sockets: one query per poll
  per process, whatever the number of sockets, and no trip through the layer.
- `notifications.realtime` publishes nothing through the layer in this mode; after commit it only
  wakes the local relay (`wake()`), so an event raised in this process goes out at once and one
  raised elsewhere within a poll. Every event is delivered once, in id order, with the id
  resync uses, whoever raised it.
- PostgreSQL without Redis: sequence ids can commit out of order, so an id the relay jumps over
  is looked for again for `GAP_SECONDS` (in the same query) before it is given up as rolled back.
  SQLite commits in id order and reuses a rolled-back id, so no gap arises there.

With `REDIS_URL` the layer is channels-redis, which crosses processes itself; no relay runs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.layers import InMemoryChannelLayer
from django.db import close_old_connections
from django.db.models import Q

from notifications.groups import event_message
from notifications.models import Event

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.3
BATCH = 500
GAP_SECONDS = 5.0
MAX_GAPS = 1000

# The relay's reads run on a thread of their own: a slow poll never queues behind, or in front
# of, the consumers' token checks on channels' shared database thread.
_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stq-event-relay")
_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Relay] = weakref.WeakKeyDictionary()
_relays_lock = threading.Lock()


def delivers_for(layer: Any) -> bool:
    """Whether events reach this layer's sockets through the relay (the in-memory layer)."""
    return isinstance(layer, InMemoryChannelLayer)


Deliver = Callable[[dict[str, Any]], Awaitable[None]]


async def attach(deliver: Deliver) -> _Relay:
    """Count a socket on this process's relay, starting it if need be; returns once the relay
    has its starting point, so whatever the socket subscribes to next is relayed. `deliver`
    (the process's hub, notifications.fanout) gets each event's channel-layer message."""
    loop = asyncio.get_running_loop()
    with _relays_lock:
        for closed in [other for other in _relays if other.is_closed()]:
            del _relays[closed]  # a relay refers to its loop, so the weak key alone never goes
        relay = _relays.get(loop)
        if relay is None or relay.task.done():
            relay = _relays[loop] = _Relay(loop, deliver)
        relay.sockets += 1
    await asyncio.shield(relay.ready)
    return relay


def wake() -> None:
    """Make this process's relays poll now (called after a commit that wrote events; any thread).
    A process without sockets (the worker, the scheduler) has no relay: nothing to do."""
    with _relays_lock:
        relays = list(_relays.values())
    for relay in relays:
        relay.poke()


def _last_id() -> int:
    close_old_connections()
    try:
        return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    finally:
        close_old_connections()


def _rows_after(cursor: int, gaps: list[int]) -> list[tuple[int, str, str, dict[str, Any]]]:
    close_old_connections()
    try:
        wanted = Q(id__gt=cursor)
        if gaps:
            wanted |= Q(id__in=gaps)
        return list(Event.objects.filter(wanted).order_by("id").values_list("id", "stream", "type", "payload")[:BATCH])
    finally:
        close_old_connections()


class _Relay:
    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Deliver) -> None:
        self.loop = loop
        self.deliver = deliver
        self.sockets = 0
        self.cursor = 0
        self.gaps: dict[int, float] = {}  # id jumped over → until when to look for it
        self.woken = asyncio.Event()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.failing = False
        self.task = loop.create_task(self._run(), name="stq-event-relay")

    def detach(self) -> None:
        self.sockets -= 1
        if self.sockets <= 0:
            self.woken.set()  # let it see there is nobody left and stop

    def poke(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.woken.set)
        except RuntimeError:  # its loop has closed
            pass

    async def _read(self, fn, *args):
        try:
            result = await self.loop.run_in_executor(_reader, fn, *args)
        except Exception:
            if not self.failing:
                # Live delivery is best effort; clients resync from the same rows over HTTP.
                logger.warning("event relay: reading the event log failed; retrying", exc_info=True)
            self.failing = True
            return None
        if self.failing:
            logger.info("event relay: reading the event log again")
        self.failing = False
        return result

    async def _run(self) -> None:
        try:
            while (cursor := await self._read(_last_id)) is None:
                if self.sockets <= 0:
                    return
                await asyncio.sleep(POLL_SECONDS)
            self.cursor = cursor
            self.ready.set_result(None)
            while self.sockets > 0:
                # Cleared before reading: a commit that lands during the read wakes the next wait.
                self.woken.clear()
                rows = await self._read(_rows_after, self.cursor, sorted(self.gaps))
                if rows:
                    await self._fan_out(rows)
                if self.gaps:
                    self._forget_old_gaps()
                if rows is not None and len(rows) >= BATCH:
                    continue  # a backlog: read on at once
                try:
                    await asyncio.wait_for(self.woken.wait(), POLL_SECONDS)
                except TimeoutError:
                    pass
        finally:
            if not self.ready.done():
                self.ready.set_result(None)
            with _relays_lock:
                if _relays.get(self.loop) is self:
                    del _relays[self.loop]

    async def _fan_out(self, rows: list[tuple[int, str, str, dict[str, Any]]]) -> None:
        now = time.monotonic()
        for event_id, stream, type, payload in rows:
            if event_id <= self.cursor:
                self.gaps.pop(event_id, None)  # a late commit below the cursor (PostgreSQL)
            else:
                for missing in range(max(self.cursor + 1, event_id - MAX_GAPS), event_id):
                    self.gaps[missing] = now + GAP_SECONDS
                self.cursor = event_id
            try:
                await self.deliver(event_message(event_id, stream, type, payload))
            except Exception:
                logger.warning("event relay: delivering event %s to %s failed", event_id, stream, exc_info=True)

    def _forget_old_gaps(self) -> None:
        """An id still missing after GAP_SECONDS was rolled back; keep at most MAX_GAPS, the newest."""
        now = time.monotonic()
        live = {event_id: until for event_id, until in self.gaps.items() if until > now}
        self.gaps = dict(sorted(live.items())[-MAX_GAPS:])
