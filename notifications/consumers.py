"""`WS /ws/v1/`: live events for the streams a client may read. Consumers never write.

Auth: the API token as `?token=` or as a `Sec-WebSocket-Protocol` entry (offer
`["bearer", "<token>"]`; the server selects "bearer"). A bad or expired token closes 4401.

Client → server: {"action": "subscribe" | "unsubscribe", "stream": "neighborhood.12"}
Server → client:  {"type": "subscribed", "stream", "last_id"}   (resync point for GET /api/v1/events)
                  {"id", "stream", "type", "payload"}           (an event)
                  {"type": "subscription_ended", "stream", "reason"}  (a membership or role ended)
                  {"error": {"code": "stream_not_found", "detail": {"stream"}}} for a stream the user
                      may not read; the socket and its other streams stay.
                  {"error": {"code": "session_revoked", ...}} then close 4401 after logout, ban, erasure.
                  When the process is already checking WS_MAX_PENDING_HANDSHAKES tokens: HTTP 503 with
                      Retry-After and {"error": {"code": "server_busy", ...}} instead of the upgrade
                      (uvicorn), or that frame then close 1013 (daphne): reconnect after a backoff.

Events reach the socket through its process's realtime hub (notifications.fanout): one
channel-layer subscription per stream per process, each frame encoded once, forwarded from
memory; the consumer has no channel of its own and no database hop per message
(notifications.socket_base). Without Redis (the in-memory layer) the hub is fed by the
process's relay (notifications.relay), which reads the event log.

A socket's session ends with its token: the hub routes its user's and its token's control
groups (notifications.sessions) to its inbox, so logout, ban and erasure close it on every
server process once they commit; as a backstop for a lost control message the token is
read again on each subscribe and every `WS_RECHECK_SECONDS` (the process re-checks all its sockets
in batches: notifications.recheck).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed

from core.errors import error_body
from core.metrics import OPEN_SOCKETS
from notifications import fanout, queries, recheck, sessions, streams
from notifications.socket_base import HubConsumer
from residents.auth import authenticate_token, reauthenticate_token

CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_MESSAGE = 4400
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455's registered code: the client reconnects after a backoff
MAX_STREAMS = 50

# Sockets of this process between accept and a checked token. Their database calls queue on
# channels' one database thread; after a restart every client reconnects at once, and without a
# bound the queue grew until clients timed out, retried, and the process worked for sockets
# already gone (bench/README.md, "Session 10": 3.8 GB and falling socket counts at 150
# handshakes/s). Beyond WS_MAX_PENDING_HANDSHAKES a new socket is told to come back (1013).
_pending_handshakes = 0


BUSY_MESSAGE = "连接的人太多，请稍后自动重试"
BUSY_RETRY_AFTER = b"2"  # seconds; clients add their own jittered backoff


def _can_deny(scope: dict) -> bool:
    """The server can answer the handshake with an HTTP response (uvicorn can; daphne cannot)."""
    return "websocket.http.response" in (scope.get("extensions") or {})


def _admitting() -> bool:
    """New sockets are being checked: the periodic re-check skips its round (notifications.recheck)."""
    return _pending_handshakes > 0

SESSION_ENDED_MESSAGES = {
    sessions.REASON_LOGOUT: "您已退出登录",
    sessions.REASON_BANNED: "账号已停用，如有疑问请联系居委会",
    sessions.REASON_ERASED: "账号已注销",
}


@database_sync_to_async
def _authenticate(raw: str):
    """(user, token, None) or (None, None, error code). Consumers never write, hence touch=False."""
    try:
        user, token = authenticate_token(raw, touch=False)
    except AuthenticationFailed as exc:
        return None, None, exc.get_codes()
    return user, token, None


def _reauthenticate(token_id: int):
    """The token's user read afresh (memberships and roles included), or the error code."""
    try:
        user = reauthenticate_token(token_id)
    except AuthenticationFailed as exc:
        return None, exc.get_codes()
    return user, None


@database_sync_to_async
def _authorize(token_id: int, stream: str) -> tuple[str | None, bool]:
    """(None, True) if the token is still good and its user may read the stream; (error code,
    False) for a dead token; (None, False) for a refused stream."""
    user, error_code = _reauthenticate(token_id)
    if user is None:
        return error_code, False
    return None, streams.can_read(user, stream)


_last_event_id = database_sync_to_async(queries.last_event_id)


@database_sync_to_async
def _recheck(token_id: int, held: list[str]) -> tuple[str | None, set[str]]:
    """(error code, set()) for a dead token, else (None, the held streams no longer readable)."""
    user, error_code = _reauthenticate(token_id)
    if user is None:
        return error_code, set()
    return None, {stream for stream in held if not streams.can_read(user, stream)}


class EventsConsumer(HubConsumer):
    async def connect(self) -> None:
        global _pending_handshakes
        self.user = None
        self.token_id: int | None = None
        self.streams: set[str] = set()
        self.control_groups: list[str] = []
        self.hub = fanout.hub(self.channel_layer)
        # Subscribing, dropping streams and the periodic re-check each read the database
        # between awaits; one at a time, so a drop cannot interleave with a subscribe.
        self.lock = asyncio.Lock()
        token, subprotocol = self._token_from_scope()
        if token and _pending_handshakes >= settings.WS_MAX_PENDING_HANDSHAKES and _can_deny(self.scope):
            # Turned away before the upgrade: the cheapest refusal for both sides in a storm.
            await self._deny_busy()
            return
        # Accept first: a close code (4401) can only be sent on an open socket.
        await self.accept(subprotocol=subprotocol)
        # Open sockets in this process (/metrics, core/metrics.py); disconnect takes it back.
        OPEN_SOCKETS.inc()
        self.counted = True
        if not token:
            await self._refuse(CLOSE_UNAUTHENTICATED, "not_authenticated", "请先登录")
            return
        if _pending_handshakes >= settings.WS_MAX_PENDING_HANDSHAKES:  # a server that cannot deny (daphne)
            await self._refuse(CLOSE_TRY_AGAIN_LATER, "server_busy", BUSY_MESSAGE)
            return
        _pending_handshakes += 1
        try:
            await self._authenticate_and_join(token)
        finally:
            _pending_handshakes -= 1

    async def _deny_busy(self) -> None:
        """HTTP 503 with Retry-After and the error body, instead of the upgrade (ASGI's
        `websocket.http.response`); the server then closes the connection and the consumer ends
        with its disconnect."""
        body = json.dumps(error_body("server_busy", BUSY_MESSAGE), ensure_ascii=False).encode()
        await self.base_send({
            "type": "websocket.http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", BUSY_RETRY_AFTER)],
        })
        await self.base_send({"type": "websocket.http.response.body", "body": body})

    async def _authenticate_and_join(self, token: str) -> None:
        user, api_token, error_code = await _authenticate(token)
        if user is None:
            await self._refuse_token(error_code)
            return
        self.control_groups = [sessions.user_group(user.pk), sessions.token_group(api_token.pk)]
        await self.hub.add_socket(self, self.control_groups)
        # A logout that committed between the check above and joining the groups sent its
        # message to nobody: read the token once more now that any later one reaches us.
        error_code, _ = await _recheck(api_token.pk, [])
        if error_code is not None:
            await self._refuse_token(error_code)
            return
        self.user, self.token_id = user, api_token.pk
        recheck.watch(self, busy=_admitting)  # the process's periodic re-check (notifications/recheck.py)

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

    async def _refuse_token(self, error_code: str | None) -> None:
        message = "登录已过期，请重新登录" if error_code == "token_expired" else "登录凭证无效，请重新登录"
        self.user = None
        await self._refuse(CLOSE_UNAUTHENTICATED, error_code or "token_invalid", message)

    async def receive_json(self, content, **kwargs) -> None:
        if self.user is None:
            return
        action = content.get("action") if isinstance(content, dict) else None
        stream = content.get("stream") if isinstance(content, dict) else None
        if action not in ("subscribe", "unsubscribe") or not isinstance(stream, str):
            await self.send_json(error_body("invalid_message", "消息格式错误", {"expected": {"action": "subscribe", "stream": "neighborhood.<id>"}}))
            return
        async with self.lock:
            if self.user is None:  # closed while this message waited for the lock
                return
            if action == "unsubscribe":
                if stream in self.streams:
                    self.streams.discard(stream)
                    await self.hub.unsubscribe(self, stream)
                await self.send_json({"type": "unsubscribed", "stream": stream})
                return
            if len(self.streams) >= MAX_STREAMS and stream not in self.streams:
                await self.send_json(error_body("too_many_streams", f"最多同时订阅 {MAX_STREAMS} 个频道", {"stream": stream}))
                return
            # Read afresh on each subscribe: a revoked token must not subscribe, and a
            # membership that ended must not come back through a profile cached at connect.
            error_code, readable = await _authorize(self.token_id, stream)
            if error_code is not None:
                await self._refuse_token(error_code)
                return
            if not readable:
                # Same answer as for a stream that does not exist. Only this subscription is
                # refused: the socket keeps the streams it holds.
                await self.send_json(error_body("stream_not_found", "订阅的频道不存在", {"stream": stream}))
                return
            self.streams.add(stream)
            # Returns once the process's subscription is in place; frames are held for this
            # socket until it has answered. Read after joining: an event committed from here on
            # is delivered live, and any earlier one has an id at most last_id, so resync from
            # last_id misses nothing.
            await self.hub.subscribe(self, stream)
            last_id = await _last_event_id(stream)
            await self.send_json({"type": "subscribed", "stream": stream, "last_id": last_id})
            while held := self.hub.go_live(self, stream):
                for frame in held:
                    await self.forward(frame)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON
            await self.send_json(error_body("invalid_message", "消息格式错误"))

    async def stq_session_revoked(self, message: dict) -> None:
        """Logout (this token), ban or erasure (every token of the user): notifications.sessions."""
        if self.user is None:
            return
        reason = message.get("reason", "")
        self.user = None
        await self._drop_all_streams()
        await self._refuse(
            CLOSE_UNAUTHENTICATED, "session_revoked", SESSION_ENDED_MESSAGES.get(reason, "登录已失效，请重新登录"), reason=reason
        )

    async def stq_access_changed(self, message: dict) -> None:
        """A membership or role of the user ended: drop what they may no longer read."""
        await self._recheck(reason=message.get("reason") or sessions.REASON_MEMBERSHIP_ENDED)

    async def _recheck(self, *, reason: str) -> None:
        async with self.lock:
            if self.user is None:
                return
            error_code, lost = await _recheck(self.token_id, sorted(self.streams))
            await self._apply(error_code, lost, reason)

    async def apply_recheck(self, error_code: str | None, lost: set[str], *, reason: str) -> None:
        """The periodic re-check's finding for this socket (notifications/recheck.py)."""
        async with self.lock:
            if self.user is None:
                return
            await self._apply(error_code, lost & self.streams, reason)

    async def _apply(self, error_code: str | None, lost: set[str], reason: str) -> None:
        if error_code is not None:
            await self._drop_all_streams()
            await self._refuse_token(error_code)
            return
        for stream in sorted(lost):
            self.streams.discard(stream)
            await self.hub.unsubscribe(self, stream)
            await self.send_json({"type": "subscription_ended", "stream": stream, "reason": reason})

    async def _drop_all_streams(self) -> None:
        streams, self.streams = getattr(self, "streams", set()), set()
        for stream in streams:
            await self.hub.unsubscribe(self, stream)

    async def disconnect(self, code) -> None:
        self.user = None
        if getattr(self, "counted", False):
            self.counted = False
            OPEN_SOCKETS.dec()
        await self.leave_hub()

    async def leave_hub(self) -> None:
        self.user = None
        recheck.unwatch(self)
        streams, self.streams = getattr(self, "streams", set()), set()
        hub, self.hub = getattr(self, "hub", None), None
        if hub is not None:
            await hub.remove_socket(self, getattr(self, "control_groups", []), streams)
