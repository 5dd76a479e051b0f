"""A service request's case on the engine (docs/matters.md, "Service requests on the engine").

Every request has a `cases.Case` of kind `service_request`, opened in the request's create
transaction on the neighborhood's 居委 unit. The request keeps its own state machine
(`ServiceRequest.TRANSITIONS`) and authorization; after each move the case follows in the same
transaction: its status (`CASE_STATUS`), the current deadline the engine's escalation sweep
reads (`due_at`), the answer, the rating and the reopen count, with a timeline row for each move
that changes the case's status, and the `case.*` frame a matter's same move sends (created,
accepted, resolved; escalated from the engine's sweep) beside the services app's own
`service_request.*` frames, which the mini-program and 派单台 read. Requests made before a case existed for them (or rows written
straight to the table) have none; every helper here then does nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet
from django.utils import timezone

from cases.followed import follow, hours_of, open_followed_cases
from cases.models import Case, CaseEvent
from cases.realtime import FRAME_TYPES, case_frames
from cases.units import committee_unit
from residents.models import Region, User
from services.models import ServiceRequest

KIND = "service_request"

S, C = ServiceRequest.Status, Case.Status
CASE_STATUS: dict[str, str] = {
    S.SUBMITTED: C.SUBMITTED,
    S.ACCEPTED: C.ACCEPTED,
    S.ASSIGNED: C.ACCEPTED,
    S.IN_SERVICE: C.ACCEPTED,
    S.COMPLETED: C.RESOLVED,
    S.RATED: C.CONFIRMED,
    S.REJECTED: C.REJECTED,
    S.CANCELLED: C.REJECTED,
    S.REOPENED: C.REOPENED,
    S.PAUSED: C.SUBMITTED,  # a standing order's day on hold: waiting, with no deadline running
}
EVENT_OF: dict[str, str] = {
    C.ACCEPTED: CaseEvent.Kind.ACCEPTED,
    C.RESOLVED: CaseEvent.Kind.RESOLVED,
    C.CONFIRMED: CaseEvent.Kind.CONFIRMED,
    C.REJECTED: CaseEvent.Kind.REJECTED,
    C.REOPENED: CaseEvent.Kind.REOPENED,
}
RESOLVE_PHASE = (S.ACCEPTED, S.ASSIGNED, S.IN_SERVICE)


def case_due(req: ServiceRequest) -> dt.datetime | None:
    """The deadline the sweep escalates on, as `services.queries.overdue_condition` reads it:
    waiting for the committee, the earlier of the two; accepted and not done, the completion one;
    otherwise (done, closed, on hold) none."""
    if req.status in ServiceRequest.ACCEPT_PHASE:
        return min(req.accept_due_at, req.complete_due_at)
    if req.status in RESOLVE_PHASE:
        return req.complete_due_at
    return None


def open_request_cases(
    reqs: list[ServiceRequest], *, neighborhood: Region, actor: User | None, notes: list[str],
) -> list[CaseEvent]:
    """Open one case per unsaved request of `neighborhood` and set `req.case`; call in the
    requests' create transaction, before they are inserted. Each case's `submitted` row, for
    `opened_frames` once the request has its id."""
    if not reqs:
        return []
    unit_id = committee_unit(neighborhood).pk
    cases = [
        Case(
            kind=KIND, status=CASE_STATUS[req.status], unit_id=unit_id, unit_chain=[unit_id], neighborhood_id=req.neighborhood_id,
            street_id=req.street_id, reporter_id=req.requester_id, accept_hours=hours_of(req.item.accept_within),
            resolve_hours=hours_of(req.item.complete_within), accept_due_at=req.accept_due_at,
            resolve_due_at=req.complete_due_at, due_at=case_due(req),
        )
        for req in reqs
    ]
    events = []
    for req, (case, event) in zip(reqs, open_followed_cases(cases, actor=actor, notes=notes), strict=True):
        req.case = case
        events.append(event)
    return events


def _ref(req: ServiceRequest) -> dict[str, int]:
    """What a `case.*` frame of a request's case names besides the case (cases.realtime)."""
    return {"service_request_id": req.pk}


def _followers(req: ServiceRequest) -> list[int]:
    """The elder's registered family hear what the requester hears (as services.apps registers)."""
    return [req.beneficiary.owner_id] if req.beneficiary_id is not None else []


def opened_frames(req: ServiceRequest, event: CaseEvent) -> list[tuple[str, str, dict]]:
    """The `case.created` frame of a request just inserted with its case (the one a new matter
    sends): the committee unit's board, the neighborhood's and the street's staff, the requester."""
    return case_frames(req.case, event, just_opened=True, ref=_ref(req))


def follow_request(req: ServiceRequest, *, actor: User | None, from_status: str, reason: str = "", **extra) -> None:
    """After a move of `req` (saved, row locked): the case takes the mapped status and the
    request's deadlines; a timeline row when the case's status changed. `extra`: more case fields."""
    if req.case_id is None:
        return
    before, after = CASE_STATUS[from_status], CASE_STATUS[req.status]
    fields = {
        "status": after, "accept_due_at": req.accept_due_at, "resolve_due_at": req.complete_due_at, "due_at": case_due(req),
    }
    now = timezone.now()
    if after != before:
        if after == C.ACCEPTED:
            fields["accepted_at"] = now
        elif after == C.RESOLVED:
            fields.update(resolved_at=now, answer=req.completion_note)
        elif after == C.REJECTED:
            fields.update(finished_at=now, reject_reason=(req.reject_reason or reason)[:500])
        elif after == C.CONFIRMED:
            fields["finished_at"] = now
        elif after == C.REOPENED:
            # The 7-day window was checked by services; a withdrawn rating leaves the case too.
            fields.update(reopen_count=F("reopen_count") + 1, resolved_at=None, finished_at=None, rating=None, rated_at=None)
    fields.update(extra)
    event_kind = EVENT_OF.get(after) if after != before else None
    followers = _followers(req) if event_kind in FRAME_TYPES else None
    follow(req.case_id, actor=actor, event_kind=event_kind, from_status=before, reason=reason, ref=_ref(req),
           followers=followers, **fields)


def record_rating(req: ServiceRequest, *, actor: User, score: int) -> None:
    """The rating's own timeline row on the case (its score is set by follow_request)."""
    if req.case_id is not None:
        follow(req.case_id, actor=actor, event_kind=CaseEvent.Kind.RATED, from_status=C.CONFIRMED, reason=f"{score}星")


def follow_bulk(reqs: list[ServiceRequest], *, actor: User | None, from_statuses: list[str], reasons: list[str]) -> None:
    """A plan's pause, cancel or resume moved many days at once."""
    for req, from_status, reason in zip(reqs, from_statuses, reasons, strict=True):
        follow_request(req, actor=actor, from_status=from_status, reason=reason)


def lock_cases_of(requests: QuerySet[ServiceRequest]) -> None:
    """Lock the cases of these requests (in id order) before the requests themselves: the
    escalation sweep locks a case first too (cases/followed.py)."""
    list(Case.objects.select_for_update().filter(pk__in=requests.values("case_id")).order_by("pk").values_list("pk", flat=True))


def lock_case_of(request_id: int) -> None:
    """The same for one request (services.actions.common.lock_request)."""
    lock_cases_of(ServiceRequest.objects.filter(pk=request_id))


def resync_case(request_id: int) -> None:
    """Set the case's status and deadlines from the request row again: for a deadline moved by
    hand (an operator's shell, the demo's overdue request), which the engine's sweep reads
    from the case. Writes no timeline row."""
    req = ServiceRequest.objects.get(pk=request_id)
    if req.case_id is not None:
        Case.objects.filter(pk=req.case_id).update(
            status=CASE_STATUS[req.status], accept_due_at=req.accept_due_at, resolve_due_at=req.complete_due_at,
            due_at=case_due(req),
        )
