"""`WS /ws/v1/`: live events for the streams a client may read. Consumers never write.

Auth: the API token as `?token=` or as a `Sec-WebSocket-Protocol` entry (offer
`["bearer", "<token>"]`; the server selects "bearer"). A bad or expired token closes 4401.

Client → server: {"action": "subscribe" | "unsubscribe", "stream": "neighborhood.12"}
Server → client:  {"type": "subscribed", "stream", "last_id"}   (resync point for GET /api/v1/events)
                  {"id", "stream", "type", "payload"}           (an event)
                  {"error": {...}} then close 4403 for a stream the user may not read.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework.exceptions import AuthenticationFailed

from core.errors import error_body
from notifications import queries, streams
from notifications.realtime import group_name
from residents.auth import authenticate_token

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_MESSAGE = 4400
MAX_STREAMS = 50


@database_sync_to_async
def _authenticate(raw: str):
    """(user, None) or (None, error code). Consumers never write, hence touch=False."""
    try:
        user, _token = authenticate_token(raw, touch=False)
    except AuthenticationFailed as exc:
        return None, exc.get_codes()
    return user, None


@database_sync_to_async
def _authorize(user, stream: str) -> int | None:
    """The stream's last event id if the user may read it, else None."""
    if not streams.can_read(user, stream):
        return None
    return queries.last_event_id(stream)


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.user = None
        self.streams: set[str] = set()
        token, subprotocol = self._token_from_scope()
        # Accept first: a close code (4401) can only be sent on an open socket.
        await self.accept(subprotocol=subprotocol)
        if not token:
            await self._refuse(CLOSE_UNAUTHENTICATED, "not_authenticated", "请先登录")
            return
        user, error_code = await _authenticate(token)
        if user is None:
            message = "登录已过期，请重新登录" if error_code == "token_expired" else "登录凭证无效，请重新登录"
            await self._refuse(CLOSE_UNAUTHENTICATED, error_code or "token_invalid", message)
            return
        self.user = user

    def _token_from_scope(self) -> tuple[str | None, str | None]:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0], None
        offered = list(self.scope.get("subprotocols") or [])
        for protocol in offered:
            if protocol.startswith("stq_"):
                return protocol, ("bearer" if "bearer" in offered else protocol)
        return None, None

    async def _refuse(self, code: int, error_code: str, message: str, **detail) -> None:
        await self.send_json(error_body(error_code, message, detail))
        await self.close(code=code)

    async def receive_json(self, content, **kwargs) -> None:
        if self.user is None:
            return
        action = content.get("action") if isinstance(content, dict) else None
        stream = content.get("stream") if isinstance(content, dict) else None
        if action not in ("subscribe", "unsubscribe") or not isinstance(stream, str):
            await self.send_json(error_body("invalid_message", "消息格式错误", {"expected": {"action": "subscribe", "stream": "neighborhood.<id>"}}))
            return
        if action == "unsubscribe":
            if stream in self.streams:
                self.streams.discard(stream)
                await self.channel_layer.group_discard(group_name(stream), self.channel_name)
            await self.send_json({"type": "unsubscribed", "stream": stream})
            return
        if len(self.streams) >= MAX_STREAMS and stream not in self.streams:
            await self.send_json(error_body("too_many_streams", f"最多同时订阅 {MAX_STREAMS} 个频道"))
            return
        last_id = await _authorize(self.user, stream)
        if last_id is None:
            # Same answer as for a stream that does not exist.
            await self._refuse(CLOSE_FORBIDDEN, "stream_not_found", "订阅的频道不存在", stream=stream)
            return
        self.streams.add(stream)
        await self.channel_layer.group_add(group_name(stream), self.channel_name)
        await self.send_json({"type": "subscribed", "stream": stream, "last_id": last_id})

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON
            await self.send_json(error_body("invalid_message", "消息格式错误"))

    async def stq_event(self, message: dict) -> None:
        if message.get("stream") in self.streams:
            await self.send_json(
                {"id": message["id"], "stream": message["stream"], "type": message["event"], "payload": message["payload"]}
            )

    async def disconnect(self, code) -> None:
        for stream in getattr(self, "streams", set()):
            await self.channel_layer.group_discard(group_name(stream), self.channel_name)
