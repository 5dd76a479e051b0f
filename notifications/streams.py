"""Who may read which realtime stream. One registry for the WebSocket and GET /events.

A stream is `<prefix>.<ident>` (e.g. `neighborhood.12`, `staff.street.3`). Apps register
their prefixes in AppConfig.ready():

    from notifications import streams
    streams.register("topic", lambda user, ident: can_read_topic(user, int(ident)))

An authorizer gets the authenticated user and the ident string and returns a bool; it
may query the database (it runs in a thread from the consumer). Unknown prefixes and
authorizers that raise are refusals.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from residents import access

logger = logging.getLogger(__name__)

Authorizer = Callable[[Any, str], bool]

_registry: dict[str, Authorizer] = {}
# What channels allows in a group name (notifications.realtime.group_name adds "stq.").
STREAM_RE = re.compile(r"^[A-Za-z0-9_.-]{3,90}$")


def register(prefix: str, authorizer: Authorizer) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*", prefix):
        raise ValueError(f"bad stream prefix {prefix!r}")
    _registry[prefix] = authorizer


def registered_prefixes() -> list[str]:
    return sorted(_registry)


def split(stream: str) -> tuple[str, str] | None:
    """(prefix, ident) for the longest registered prefix, or None."""
    if not STREAM_RE.match(stream or ""):
        return None
    for prefix in sorted(_registry, key=len, reverse=True):
        if stream.startswith(prefix + "."):
            ident = stream[len(prefix) + 1 :]
            if ident:
                return prefix, ident
    return None


def can_read(user: Any, stream: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    parts = split(stream)
    if parts is None:
        return False
    prefix, ident = parts
    try:
        return bool(_registry[prefix](user, ident))
    except Exception:
        logger.warning("stream authorizer for %s raised; refusing", prefix, exc_info=True)
        return False


def _int(ident: str) -> int | None:
    return int(ident) if ident.isdigit() else None


def _self(user: Any, ident: str) -> bool:
    return _int(ident) == user.pk


def _neighborhood(user: Any, ident: str) -> bool:
    n = _int(ident)
    return n is not None and access.can_read_neighborhood(user, n)


def _staff_neighborhood(user: Any, ident: str) -> bool:
    n = _int(ident)
    return n is not None and access.is_staff_for(user, n)


def _staff_street(user: Any, ident: str) -> bool:
    n = _int(ident)
    return n is not None and n in access.profile(user).staff_streets


register("user", _self)
register("neighborhood", _neighborhood)
register("staff.neighborhood", _staff_neighborhood)
register("staff.street", _staff_street)
