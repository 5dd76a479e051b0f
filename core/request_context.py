"""What a log line says about the request or task it was written for (docs/deployment.md, Logs).

Context variables, so they follow the request through Django's thread hops (asgiref copies the
context) and are empty in code that runs outside one. `core.requestlog` sets them for a request;
`core.task_backend` stores the request id with every task the request enqueues and sets it again
in the worker while that task runs. Only ids live here, never a personal value.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

request_id: ContextVar[str | None] = ContextVar("stq_request_id", default=None)
user_id: ContextVar[int | None] = ContextVar("stq_user_id", default=None)
route: ContextVar[str | None] = ContextVar("stq_route", default=None)
task_id: ContextVar[str | None] = ContextVar("stq_task_id", default=None)

# What a proxy or client may hand us as X-Request-ID: a UUID, or a short token of safe
# characters. Anything else (too long, spaces, newlines that would forge a log line) is replaced.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(incoming: str | None) -> str:
    """The incoming X-Request-ID when it is sane, else a new id."""
    if incoming and _SANE_ID.match(incoming):
        return incoming
    return new_request_id()


def bind(**values) -> list[tuple[ContextVar, Token]]:
    """Set the named variables; hand the result to `unbind` to restore them."""
    tokens = []
    for name, value in values.items():
        var = _VARS[name]
        tokens.append((var, var.set(value)))
    return tokens


def unbind(tokens: list[tuple[ContextVar, Token]]) -> None:
    for var, token in reversed(tokens):
        var.reset(token)


_VARS = {"request_id": request_id, "user_id": user_id, "route": route, "task_id": task_id}
