"""Who a kind of notification is for, so the mini-program asks each person's consent only
for the subscribe messages that person can receive (GET /api/v1/notifications/templates).

A kind nobody registered is for everyone (what residents receive: their requests, topics,
posts, memberships). The app that sends a staff-only or provider-only kind registers it in
its AppConfig.ready(), so notifications needs no knowledge of the domain apps:

    kinds.register_audience("service_request_new", lambda user: profile(user).has_role(Role.Kind.COMMITTEE_STAFF))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Audience = Callable[[Any], bool]

_AUDIENCES: dict[str, Audience] = {}


def register_audience(kind: str, audience: Audience) -> None:
    """`audience(user)` says whether the user can receive `kind`."""
    _AUDIENCES[kind] = audience


def is_for(kind: str, user: Any) -> bool:
    audience = _AUDIENCES.get(kind)
    return audience is None or audience(user)
