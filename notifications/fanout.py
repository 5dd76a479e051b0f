"""One subscription per stream per server process; each event encoded once; fan-out from memory.

channels' usual shape gives every socket a channel of its own and joins it to one layer group
per stream: with channels-redis that is a Redis SUBSCRIBE per socket and stream, a msgpack
decode per socket per event, a `json.dumps` of the same payload per socket, and a dispatch (with
a database hop, see notifications/socket_base.py) per socket. With 1,000 sockets on one process
the fan-out fell behind at 2 events/s (bench/README.md, "Issue 20").

Here each server process (one event loop) has one `Hub`:

- The hub has one channel-layer channel. The first local socket that subscribes to a stream
  makes the hub join that stream's group (`notifications.groups.group_name`); the last one that
  leaves makes it leave. Whatever the number of local sockets on `neighborhood.12`, Redis sees
  one subscription from this process.
- An `stq.event` message is turned into its frame text once (`frame_text`) and handed, as one
  shared ASGI message, to every local socket on the stream (`socket.forward`): no per-socket
  queue, decode, encode or database hop.
- Session control messages (`notifications.sessions`: logout, ban, erasure, a membership or
  role that ended) reach the hub through one group for the process (`sessions.CONTROL_GROUP`);
  each names its user or token key, and the hub puts it in the inbox of the local sockets under
  that key, where the consumer handles it in its own task (it reads the database). A socket's
  connect costs no Redis subscription at all.
- Without Redis (the in-memory layer) events do not travel through the layer at all: the
  process's event relay (notifications.relay) reads the event log and hands each row to
  `Hub.deliver` directly.

What the consumer keeps: authorization per socket (it asks the stream registry before it calls
`subscribe`), the resync point (`subscribe` returns once the hub's group membership is in place,
so `last_id` read after it misses nothing; frames that arrive before the socket has sent its
`subscribed` answer are held for it and sent right after, in order — `go_live`), and closing on
revocation (the consumer leaves every stream before it closes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from typing import Any, Protocol

from notifications import relay, sessions
from notifications.groups import group_name

logger = logging.getLogger(__name__)


class Socket(Protocol):
    """What the hub needs of a consumer (notifications.socket_base.HubConsumer)."""

    inbox: asyncio.Queue

    async def forward(self, frame: dict[str, Any]) -> None: ...


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()
_hubs_lock = threading.Lock()


def hub(layer: Any) -> Hub:
    """This process's (this event loop's) hub, made on first use."""
    loop = asyncio.get_running_loop()
    with _hubs_lock:
        for closed in [other for other in _hubs if other.is_closed()]:
            del _hubs[closed]  # a hub refers to its loop, so the weak key alone never goes
        current = _hubs.get(loop)
        if current is None or current.layer is not layer:
            current = _hubs[loop] = Hub(loop, layer)
        return current


def frame_text(message: dict[str, Any]) -> str:
    """The text of the frame an `stq.event` message becomes (docs/notifications.md, Live updates)."""
    return json.dumps(
        {"id": message["id"], "stream": message["stream"], "type": message["event"], "payload": message["payload"]}
    )


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop, layer: Any) -> None:
        self.loop = loop
        self.layer = layer
        self.via_relay = relay.delivers_for(layer)
        # stream → {socket: None once live, or the frames held until it has sent "subscribed"}
        self.streams: dict[str, dict[Socket, list[dict[str, Any]] | None]] = {}
        # control key (sessions.user_group / token_group) → its local sockets
        self.controls: dict[str, set[Socket]] = {}
        self.joined: set[str] = set()  # layer groups the hub's channel is in
        self.membership = asyncio.Lock()  # one group_add / group_discard at a time
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.frames_sent = 0  # frames handed to sockets (bench, tests)
        self.relays: dict[Socket, Any] = {}  # socket → the relay it counts on (in-memory layer)

    # --- sockets ----------------------------------------------------------------------------
    async def add_socket(self, socket: Socket, control_groups: list[str]) -> None:
        """Route the control messages for these keys (notifications.sessions) to the socket's
        inbox; start the relay if this layer needs it. Returns once they reach this process."""
        for group in control_groups:
            self.controls.setdefault(group, set()).add(socket)
        await self._join(sessions.CONTROL_GROUP)  # once per process; kept while the hub lives
        if self.via_relay:
            self.relays[socket] = await relay.attach(self.deliver)

    async def remove_socket(self, socket: Socket, control_groups: list[str], streams: set[str]) -> None:
        attached = self.relays.pop(socket, None)
        if attached is not None:
            attached.detach()
        for stream in streams:
            await self.unsubscribe(socket, stream)
        for group in control_groups:
            members = self.controls.get(group)
            if members is not None:
                members.discard(socket)
                if not members:
                    del self.controls[group]

    async def subscribe(self, socket: Socket, stream: str) -> None:
        """Hold the stream's frames for the socket from now on; returns once they reach this
        process. The caller reads the resync point, answers, then calls `go_live`."""
        members = self.streams.setdefault(stream, {})
        if socket not in members:
            members[socket] = []
        if not self.via_relay:
            await self._join(group_name(stream))

    def go_live(self, socket: Socket, stream: str) -> list[dict[str, Any]]:
        """The frames held for the socket since `subscribe` (send them, then call again), or
        [] once there are none — then the socket is live: later frames are forwarded as they
        come. No await between the check and the switch, so no frame falls between them."""
        members = self.streams.get(stream, {})
        held = members.get(socket)
        if held:
            members[socket] = []
            return held
        if socket in members:
            members[socket] = None
        return []

    async def unsubscribe(self, socket: Socket, stream: str) -> None:
        members = self.streams.get(stream)
        if members is None or socket not in members:
            return
        del members[socket]
        if not members:
            del self.streams[stream]
            if not self.via_relay:
                await self._leave(group_name(stream))

    def local_sockets(self, stream: str) -> int:
        return len(self.streams.get(stream, ()))

    # --- delivery ---------------------------------------------------------------------------
    async def deliver(self, message: dict[str, Any]) -> None:
        """An event (from the layer or the relay) to the stream's local sockets; a control
        message to its group's sockets' inboxes."""
        if message.get("type") != "stq.event":
            for socket in list(self.controls.get(message.get("group", ""), ())):
                socket.inbox.put_nowait(message)
            return
        members = self.streams.get(message["stream"])
        if not members:
            return
        frame = {"type": "websocket.send", "text": frame_text(message)}  # one encoding, shared
        for socket in list(members):
            held = members.get(socket, _GONE)
            if held is _GONE:
                continue  # left while an earlier forward awaited
            if held is not None:
                held.append(frame)
                continue
            try:
                await socket.forward(frame)
                self.frames_sent += 1
            except Exception:
                # Closed under us; its disconnect removes it. The others still get the frame.
                logger.debug("forwarding a frame to a closing socket failed", exc_info=True)

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("realtime hub: receiving from the channel layer failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            try:
                await self.deliver(message)
            except Exception:
                logger.warning("realtime hub: delivering %s failed", message.get("type"), exc_info=True)

    # --- layer membership -------------------------------------------------------------------
    async def _join(self, group: str) -> None:
        if group in self.joined:
            return
        async with self.membership:
            if group in self.joined:
                return
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.task = self.loop.create_task(self._receive(), name="stq-realtime-hub")
            await self.layer.group_add(group, self.channel)
            self.joined.add(group)

    async def _leave(self, group: str) -> None:
        async with self.membership:
            # Re-checked under the lock: a socket may have come for it while this waited.
            if group not in self.joined or self._wanted(group):
                return
            self.joined.discard(group)
            await self.layer.group_discard(group, self.channel)

    def _wanted(self, group: str) -> bool:
        return any(group == group_name(stream) for stream in self.streams)


_GONE = object()
