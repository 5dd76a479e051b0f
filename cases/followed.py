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

from django.db import transaction

from cases.models import Case, CaseEvent
from residents.models import User


def hours_of(duration: dt.timedelta) -> int:
    """A target as the engine stores it: whole hours, rounded up, at least 1."""
    return max(1, math.ceil(duration.total_seconds() / 3600))


def open_followed_cases(cases: list[Case], *, actor: User | None, notes: list[str]) -> list[Case]:
    """Insert unsaved cases (one `submitted` timeline row each, `notes[i]` as its reason) in the
    caller's transaction: two INSERTs whatever the number (a plan's days come in one go)."""
    with transaction.atomic(savepoint=False):
        created = Case.objects.bulk_create(cases)
        CaseEvent.objects.bulk_create(
            CaseEvent(case=case, kind=CaseEvent.Kind.SUBMITTED, actor=actor, to_status=case.status, to_unit_id=case.unit_id,
                      reason=note)
            for case, note in zip(created, notes, strict=True)
        )
    return created


def follow(case_id: int, *, actor: User | None, event_kind: str | None, from_status: str = "", reason: str = "",
           **fields) -> None:
    """Write what the kind's move changed on the case (`fields`: status, due times, rating …)
    and, when the move is one the timeline shows (`event_kind`), its row."""
    if fields:
        Case.objects.filter(pk=case_id).update(**fields)
    if event_kind:
        CaseEvent.objects.create(
            case_id=case_id, kind=event_kind, actor=actor, from_status=from_status,
            to_status=fields.get("status", from_status), reason=reason[:2000],
        )
