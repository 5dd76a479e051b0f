"""Tell open WebSockets that their session or their reach changed, on every server process.

Each socket of `/ws/v1/` is counted under two control keys when it connects: one for its user
and one for the API token it authenticated with. Every server process's realtime hub
(notifications.fanout) is a member of one layer group, `CONTROL_GROUP`, and hands each message
to its local sockets of the key the message names (`group`): one subscription per process, not
two per socket, and a logout or ban — rare — reaches every process. The actions that take a session or access
away call these functions inside their transaction; the message goes out through the
channel layer once the transaction commits (never for a rolled-back change), so it reaches
the socket whichever process holds it (Redis layer in production, in-memory in one process).

- `close_sessions_on_commit`: the token was revoked (logout) or the user was banned or
  erased. The socket sends a `session_revoked` error frame and closes with 4401.
- `recheck_streams_on_commit`: a membership or role ended. The socket re-checks every
  stream it holds and drops those the user may no longer read (`subscription_ended` frame).

Delivery is best effort (a Redis blip loses the message): the consumer also re-checks its
token on each subscribe and every `WS_RECHECK_SECONDS`, see notifications/consumers.py.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Why a session ended, as sent to the client in the close frame's error detail.
REASON_LOGOUT = "logout"
REASON_BANNED = "banned"
REASON_ERASED = "erased"
# Why streams are re-checked.
REASON_MEMBERSHIP_ENDED = "membership_ended"
REASON_ROLE_REVOKED = "role_revoked"


# The one layer group every server process's hub joins for control messages.
CONTROL_GROUP = "stq-session"


def user_group(user_id: int) -> str:
    # Not "stq.user.<id>": that is the group of the `user.<id>` stream, which only sockets
    # that subscribed to it join. Control groups are joined by every socket of the user.
    return f"stq-session.user.{user_id}"


def token_group(token_id: int) -> str:
    return f"stq-session.token.{token_id}"


def close_sessions_on_commit(*, reason: str, user_id: int | None = None, token_id: int | None = None) -> None:
    """Once the transaction commits, close (4401) the sockets of a user, or of one token."""
    groups = []
    if user_id is not None:
        groups.append(user_group(user_id))
    if token_id is not None:
        groups.append(token_group(token_id))
    _send_on_commit(groups, {"type": "stq.session_revoked", "reason": reason})


def recheck_streams_on_commit(*, user_id: int, reason: str, region_id: int | None = None) -> None:
    """Once the transaction commits, make the user's sockets drop the streams they may no longer read.

    `region_id` is informative only: the consumer re-checks every stream it holds against the
    database, so a role elsewhere that still grants the stream keeps it."""
    _send_on_commit([user_group(user_id)], {"type": "stq.access_changed", "reason": reason, "region_id": region_id})


def _send_on_commit(groups: list[str], message: dict[str, Any]) -> None:
    if groups:
        transaction.on_commit(lambda: _send(groups, message))


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in groups:
            try:
                await layer.group_send(CONTROL_GROUP, {**message, "group": group})
            except Exception:
                # The consumer's periodic re-check closes the socket anyway, only later.
                logger.warning("session control message %s to %s failed", message["type"], group, exc_info=True)

    async_to_sync(send_all)()
