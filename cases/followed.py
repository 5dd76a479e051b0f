"""Cases that follow a kind's own state machine (service requests, docs/matters.md).

A matter is worked through the engine's moves (`cases.actions`: accept, transfer, resolve …,
each checking who acts). A service request keeps its own lifecycle (assignment to a provider,
in service, completion on the elder's behalf) and its own authorization in `services`; its case
mirrors where it stands, so that the engine's one escalation sweep, one timeline and one queue
cover it. The kind calls these helpers inside its own transaction, after it has authorized the
move, holding its rows' locks. The kind locks the case row before its own (services:
`services.actions.case_mirror.lock_case_of`) so the escalation sweep, which locks the case and
then calls the kind's `on_overdue`, cannot deadlock with it.

Nothing here checks a transition: the kind's table already did.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db import transaction

from cases.models import Case, CaseEvent
from cases.realtime import FRAME_TYPES, case_frames
from notifications.realtime import publish_many_on_commit
from residents.models import User


def hours_of(duration: dt.timedelta) -> int:
    """A target as the engine stores it: whole hours, rounded up, at least 1."""
    return max(1, math.ceil(duration.total_seconds() / 3600))


def open_followed_cases(cases: list[Case], *, actor: User | None, notes: list[str]) -> list[tuple[Case, CaseEvent]]:
    """Insert unsaved cases (one `submitted` timeline row each, `notes[i]` as its reason) in the
    caller's transaction: two INSERTs whatever the number (a plan's days come in one go).
    Each case with its `submitted` row: what its `case.created` frame is built from
    (`case_frames(case, event, just_opened=True, ref=…)`, once the kind's own row has an id)."""
    with transaction.atomic(savepoint=False):
        created = Case.objects.bulk_create(cases)
        events = CaseEvent.objects.bulk_create(
            CaseEvent(case=case, kind=CaseEvent.Kind.SUBMITTED, actor=actor, to_status=case.status, to_unit_id=case.unit_id,
                      reason=note)
            for case, note in zip(created, notes, strict=True)
        )
    return list(zip(created, events, strict=True))


def follow(case_id: int, *, actor: User | None, event_kind: str | None, from_status: str = "", reason: str = "",
           ref: dict[str, Any] | None = None, followers: list[int] | None = None, **fields) -> CaseEvent | None:
    """Write what the kind's move changed on the case (`fields`: status, due times, rating …)
    and, when the move is one the timeline shows (`event_kind`), its row — and, for a move the
    engine announces (cases.realtime.FRAME_TYPES: accepted, resolved …), the same `case.*`
    frame a matter's move sends, after commit. `ref` and `followers`: the kind's ids for the
    frame and who besides the reporter hears it."""
    if fields:
        Case.objects.filter(pk=case_id).update(**fields)
    if not event_kind:
        return None
    event = CaseEvent.objects.create(
        case_id=case_id, kind=event_kind, actor=actor, from_status=from_status,
        to_status=fields.get("status", from_status), reason=reason[:2000],
    )
    if event_kind in FRAME_TYPES:
        case = Case.objects.get(pk=case_id)
        publish_many_on_commit(case_frames(case, event, ref=ref, followers=followers))
    return event
