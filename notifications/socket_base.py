"""A WebSocket consumer fed by the process's realtime hub (notifications.fanout), not by a
channel of its own, and without channels' database hop before each handler.

channels' `AsyncConsumer.__call__` gives every consumer a channel-layer channel and waits on it
beside the socket; `AsyncConsumer.dispatch` (channels/consumer.py, 4.2+) then runs
`await aclose_old_connections()` before every handler: `sync_to_async(close_old_connections)`,
a trip to the thread pool and back, so that a handler that uses the ORM finds no stale
connection. For a socket that forwards events that was the cost of every event: 38% of the
server's CPU during fan-out (issue 20's profile), for handlers that never touch the database.

`HubConsumer` differs in two ways, and only these:

- Its second source of messages is `self.inbox`, an in-process queue the hub fills with the
  control messages (session revoked, access changed) of the socket's user and token. Events
  are not messages to the consumer at all: the hub sends their frame straight to the socket
  (`forward`), built once for all its sockets.
- `dispatch` calls the handler without the hop. A subclass reaches the database only through
  `channels.db.database_sync_to_async`, which closes stale connections itself, before and after
  the call, in the thread that holds the connection — the hop on the loop's side adds nothing.
- `websocket_disconnect` calls `disconnect` without the hop either: channels' runs
  `aclose_old_connections` once per closing socket, 10,000 trips to the thread pool when a
  process's sockets close at once (a deploy, a network blip), queued behind the handshakes'
  own database calls (bench/README.md, "Session 12").
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch


class HubConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = None  # no channel of its own: the hub holds the process's one
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.base_send = send
        try:
            await await_many_dispatch([receive, self.inbox.get], self.dispatch)
        except StopConsumer:
            pass
        finally:
            # Also when a handler raised or the server cancelled the connection: a socket the
            # hub still counted would be kept alive by it (and sent frames) for ever.
            await self.leave_hub()

    async def leave_hub(self) -> None:
        """Take the socket out of the hub: idempotent; `disconnect` calls it too."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """channels' own, without its `aclose_old_connections`: the hub's consumers hold no
        connection on the loop's side, and have no channel-layer groups of their own."""
        await self.disconnect(message.get("code"))
        raise StopConsumer()

    async def forward(self, frame: dict[str, Any]) -> None:
        """Send a frame the hub built (an ASGI `websocket.send` message, shared by every socket
        it goes to: never changed)."""
        await self.base_send(frame)
