"""The periodic re-check of a server process's open WebSockets, in batches.

The backstop for a control message the channel layer lost (notifications/sessions.py): every
`WS_RECHECK_SECONDS` each socket's token and its streams' access are read afresh, so a revoked or
expired token closes (4401) and a stream the user may no longer read is dropped
(`subscription_ended`, reason `access_changed`) even when the message saying so never came.

Each socket used to do this itself: two queries per socket per interval on channels' one database
thread — about 330 queries/s for 10,000 sockets at 60 s, and 92 % of that thread at 6,500 sockets
during a reconnect storm, when new sockets came in at 3 a second (bench/README.md, "Session 11").
Here one task per process (per event loop) re-checks all of its sockets, `BATCH` at a time, each
batch one database call, the batches of a round spread across the interval: the tokens with their users in one query (`residents.auth.check_tokens`),
the users' memberships and roles in two more (`residents.access.load_profiles`), and the stream
registry (notifications/streams.py) answers from those in memory. So the database work no longer
grows with the number of sockets' queries, only with rows read.

A round is skipped, and the next drawn ½–1½ intervals later, while the process is admitting new
sockets (`busy()`): handshakes have the database thread to themselves during a storm. The control
messages, the first path, are not delayed by this.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from notifications import streams
from residents.access import load_profiles
from residents.auth import check_tokens

logger = logging.getLogger(__name__)

BATCH = 200  # sockets per database call; a round's batches are spread across the interval


class Checked(Protocol):
    """What the re-check needs of a consumer (notifications.consumers.EventsConsumer)."""

    token_id: int | None
    streams: set[str]

    async def apply_recheck(self, error_code: str | None, lost: set[str], *, reason: str) -> None: ...


def check_sessions(entries: list[tuple[int, list[str]]]) -> list[tuple[str | None, set[str]]]:
    """For each (token id, streams held): (error code, set()) for a dead token, else (None, the
    held streams the token's user may no longer read). A fixed number of queries for any number of
    entries (tests/notifications/test_recheck.py)."""
    checked = check_tokens({token_id for token_id, _held in entries})
    load_profiles([user for user, _error in checked.values() if user is not None])
    results: list[tuple[str | None, set[str]]] = []
    for token_id, held in entries:
        user, error_code = checked[token_id]
        if user is None:
            results.append((error_code, set()))
        else:
            results.append((None, {stream for stream in held if not streams.can_read(user, stream)}))
    return results


_check_sessions = database_sync_to_async(check_sessions)


class _Watch:
    def __init__(self, busy: Callable[[], bool]) -> None:
        self.sockets: weakref.WeakSet[Any] = weakref.WeakSet()
        self.busy = busy
        self.task: asyncio.Task | None = None


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch] = weakref.WeakKeyDictionary()


def watch(socket: Checked, busy: Callable[[], bool]) -> None:
    """Re-check `socket` every interval from now on, until `unwatch`. `busy()` true skips a round."""
    if settings.WS_RECHECK_SECONDS <= 0:
        return
    loop = asyncio.get_running_loop()
    state = _watches.get(loop)
    if state is None:
        state = _watches[loop] = _Watch(busy)
    state.sockets.add(socket)
    if state.task is None or state.task.done():
        state.task = loop.create_task(_run(state), name="stq-ws-recheck")


def unwatch(socket: Checked) -> None:
    try:
        state = _watches.get(asyncio.get_running_loop())
    except RuntimeError:  # no loop: nothing was watched from here
        return
    if state is None:
        return
    state.sockets.discard(socket)
    if not state.sockets and state.task is not None and state.task is not asyncio.current_task():
        state.task.cancel()
        state.task = None


async def _run(state: _Watch) -> None:
    """A round per interval over the sockets open when it starts, its batches spread evenly across
    the interval (each wait jittered ½–1½×): the database thread, and the GIL it shares with the
    fan-out, see a steady trickle rather than a burst — one round's 20 batches back to back had put
    commit → receipt p99 at 1.1 s when it fell in a publishing window (bench/README.md, "Session 11")."""
    interval = settings.WS_RECHECK_SECONDS
    while state.sockets:
        sockets = list(state.sockets)
        batches = [sockets[start : start + BATCH] for start in range(0, len(sockets), BATCH)]
        for batch in batches:
            await asyncio.sleep(interval / len(batches) * (0.5 + random.random()))
            if state.busy():
                continue
            try:
                await recheck(batch)
            except Exception:
                logger.warning("periodic WebSocket re-check failed; trying again next interval", exc_info=True)


async def recheck(sockets: list[Checked]) -> None:
    """Re-check `sockets` (at most BATCH of them) in one database call and act on what it finds."""
    batch = [s for s in sockets if s.token_id is not None]
    if not batch:
        return
    results = await _check_sessions([(s.token_id, sorted(s.streams)) for s in batch])
    for socket, (error_code, lost) in zip(batch, results, strict=True):
        if error_code is not None or lost:
            await socket.apply_recheck(error_code, lost, reason="access_changed")
