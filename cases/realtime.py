"""Realtime frames for case moves (docs/matters.md, Realtime): after commit, through
notifications.realtime, on

- `unit.<id>`: the members of the responsible unit, the supervising unit, the unit a transfer
  came from and went to, and every unit asked to join (会办) — their boards redraw;
- `staff.neighborhood.<id>`: the neighborhood's committee staff (and whoever else is staff of it),
  whose 案件总台 (console/views/case_board.py) lists its cases without their being unit members;
- `staff.street.<id>`: the street's officers;
- `user.<id>`: the reporter and the kind's followers (a matter's 我也遇到 neighbors).

The payload is the same for all and carries no personal data: ids, the status, the units'
ids and the deadline; never a name, a phone or the text. The `unit` stream prefix is
registered with notifications.streams in cases/apps.py (members of the unit only).
"""

from __future__ import annotations

from typing import Any

from cases import kinds
from cases.models import Case, CaseEvent
from core.times import api_datetime
from notifications.realtime import publish_many_on_commit

# The event kinds a frame goes out for, and the frame's type.
FRAME_TYPES = {
    CaseEvent.Kind.SUBMITTED: "case.created",
    CaseEvent.Kind.TRANSFERRED: "case.transferred",
    CaseEvent.Kind.ACCEPTED: "case.accepted",
    CaseEvent.Kind.RESOLVED: "case.resolved",
    CaseEvent.Kind.ESCALATED: "case.escalated",
    CaseEvent.Kind.JOINT_REQUESTED: "case.joint_requested",
}


def frame_payload(case: Case, event: CaseEvent, ref: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "case_id": case.pk,
        "case_kind": case.kind,
        **(kinds.of(case.kind).ref(case) if ref is None else ref),
        "event_id": event.pk,
        "event": event.kind,
        "status": case.status,
        "unit_id": case.unit_id,
        "supervising_unit_id": case.supervising_unit_id,
        # As the REST API writes times (+08:00), not the stored UTC value.
        "due_at": api_datetime(case.due_at),
    }


def case_frames(
    case: Case, event: CaseEvent, *, just_opened: bool = False, ref: dict[str, Any] | None = None,
    followers: list[int] | None = None,
) -> list[tuple[str, str, dict[str, Any]]]:
    """The (stream, type, payload) rows of `event`'s frame, none for an event no frame goes out for.
    `just_opened`: the case was created in this transaction, so no unit joined it and nobody
    follows it yet — two queries a create need not make. A kind that follows its own state
    machine (cases/followed.py) knows its ids and followers already and may pass them: `ref`
    and `followers` then replace the kind's `ref` and `followers` (and their queries)."""
    frame_type = FRAME_TYPES.get(event.kind)
    if frame_type is None:
        return []
    joined = [] if just_opened else case.joints.values_list("unit_id", flat=True)
    units = {case.unit_id, case.supervising_unit_id, event.from_unit_id, event.to_unit_id, *joined}
    if followers is None:
        followers = [] if just_opened else kinds.of(case.kind).followers(case)
    people = {case.reporter_id, *followers}
    payload = frame_payload(case, event, ref)
    streams = [
        *(f"unit.{unit_id}" for unit_id in sorted(u for u in units if u is not None)),
        f"staff.neighborhood.{case.neighborhood_id}",
        f"staff.street.{case.street_id}",
        *(f"user.{user_id}" for user_id in sorted(u for u in people if u is not None)),
    ]
    return [(stream, frame_type, payload) for stream in streams]


def publish_case_event(case: Case, event: CaseEvent) -> None:
    """Queue the frame for `event` (inside the move's transaction; sent after commit)."""
    publish_many_on_commit(case_frames(case, event))
