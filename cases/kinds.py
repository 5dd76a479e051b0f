"""What the engine needs to know about a kind of case (a matter, later a service request),
registered by the kind's app in its AppConfig.ready(): how to name it in a notification,
which mini-program page opens it, who follows it besides the reporter, the kind's own ids
a realtime frame carries (cases.realtime), and (optionally) how it tells people about a passed
deadline.

    kinds.register("matter", CaseKind(label=..., page=..., followers=..., ref=...))

The engine calls these; it never imports the kind's app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _no_followers(case: Any) -> list[int]:
    return []


def _no_ref(case: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class CaseKind:
    label: Callable[[Any], str]  # case -> short title, e.g. "设施报修：路灯不亮"
    page: Callable[[Any], str]  # case -> mini-program page
    followers: Callable[[Any], list[int]] = field(default=_no_followers)  # case -> user ids told of answers
    ref: Callable[[Any], dict[str, Any]] = field(default=_no_ref)  # case -> e.g. {"matter_id": 7} for frames
    # (case, escalated event, "受理" or "办结") -> None: a kind that keeps its own overdue notice
    # (services: `service_request_overdue` to the street's officers and the committee) tells it
    # here, in the sweep's transaction; None: the engine sends its `case_overdue` notice.
    on_overdue: Callable[[Any, Any, str], None] | None = None


_KINDS: dict[str, CaseKind] = {}


def register(kind: str, case_kind: CaseKind) -> None:
    _KINDS[kind] = case_kind


def of(kind: str) -> CaseKind:
    return _KINDS.get(kind) or CaseKind(label=lambda case: "诉求", page=lambda case: "")
