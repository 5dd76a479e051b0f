"""会办 (joint handling): the unit handling a case asks other units to join it.

A joined unit sees the case in its queue and adds its part to the timeline (`joint_note`);
the lead unit (`Case.unit`, or its supervising unit, or staff of the neighborhood) still
accepts, transfers and answers. Units reachable as for a transfer (cases.access.reachable_units:
the neighborhood's, the street's, the district's). Like every move: the case row locked, a
timeline row per unit, the units told (inbox) and their boards sent a frame (cases.realtime).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from cases import kinds
from cases.access import acts_for_unit, reachable_units, unit_ids_of
from cases.actions import _locked, _record, _tell_unit
from cases.models import Case, CaseEvent, CaseJoint, ResponsibleUnit
from cases.realtime import publish_case_event
from core.errors import Conflict, Forbidden, InvalidInput
from notifications.actions import do_notify
from residents.models import User

MAX_JOINT_UNITS = 5
JOINABLE = Case.TRANSFERABLE  # submitted, accepted, reopened: not once answered or finished


def _require_open(case: Case, what: str) -> None:
    if case.status not in JOINABLE:
        raise Conflict("case_state_changed", f"当前状态（{case.get_status_display()}）不能{what}", status=case.status)


def do_request_joint_handling(case_id: int, *, actor: User, unit_ids: list[int], reason: str) -> list[CaseJoint]:
    """The lead asks `unit_ids` to join, all or none: 400 `unknown_unit` for a unit missing,
    inactive or out of reach, 400 `same_unit` for the lead itself, 409 `already_joined` for a
    unit already asked (two requests at once: the row lock, then the unique constraint, let
    one through), 409 `case_state_changed` once the case is answered or finished."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason_required", "请填写会办事由", field="reason")
    wanted = list(dict.fromkeys(unit_ids))
    if not wanted:
        raise InvalidInput("units_required", "请选择会办单位", field="units")
    if len(wanted) > MAX_JOINT_UNITS:
        raise InvalidInput("too_many_units", f"一次最多请 {MAX_JOINT_UNITS} 个单位会办", field="units")
    with transaction.atomic():
        case = _locked(case_id)
        if not acts_for_unit(actor, case):
            raise Forbidden("not_responsible_unit", "只有承办单位或本辖区工作人员可以发起会办")
        _require_open(case, "发起会办")
        found = {unit.pk: unit for unit in reachable_units(case).filter(pk__in=wanted)}
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise InvalidInput("unknown_unit", "会办单位不存在或不在本辖区", field="units", units=missing)
        if case.unit_id in found:
            raise InvalidInput("same_unit", "承办单位不必会办自己", field="units", unit=case.unit_id)
        already = sorted(set(CaseJoint.objects.filter(case=case, unit_id__in=wanted).values_list("unit_id", flat=True)))
        if already:
            raise Conflict("already_joined", f"「{found[already[0]].name}」已在会办", units=already)
        try:
            with transaction.atomic():
                joints = CaseJoint.objects.bulk_create(
                    [CaseJoint(case=case, unit=found[pk], requested_by=actor, reason=reason[:500]) for pk in wanted]
                )
        except IntegrityError:  # cannot happen under the row lock; kept for a writer that skipped it
            raise Conflict("already_joined", "该单位已在会办") from None
        for pk in wanted:
            unit: ResponsibleUnit = found[pk]
            event = _record(case, kind=CaseEvent.Kind.JOINT_REQUESTED, actor=actor, from_status=case.status,
                            from_unit=case.unit, to_unit=unit, reason=reason)
            _tell_unit(case, unit, title="请协助会办诉求", event=event)
            publish_case_event(case, event)
    return joints


def do_add_joint_note(case_id: int, *, actor: User, text: str, unit_id: int | None = None) -> CaseEvent:
    """A joined unit's part (their findings, what they did): a `joint_note` on the timeline, the
    lead unit's members told. 403 `not_joined_unit` for anyone not working for a joined unit
    (`unit_id` picks one when the caller works for several)."""
    text = text.strip()
    if not text:
        raise InvalidInput("note_required", "请填写会办意见", field="text")
    with transaction.atomic():
        case = _locked(case_id)
        joined = {joint.unit_id: joint.unit for joint in CaseJoint.objects.filter(case=case).select_related("unit")}
        mine = sorted(set(joined) & unit_ids_of(actor))
        if unit_id is not None:
            mine = [pk for pk in mine if pk == unit_id]
        if not mine:
            raise Forbidden("not_joined_unit", "只有会办单位的经办人员可以填写会办意见")
        _require_open(case, "填写会办意见")
        unit = joined[mine[0]]
        event = _record(case, kind=CaseEvent.Kind.JOINT_NOTE, actor=actor, from_status=case.status, from_unit=unit,
                        reason=text[:2000])
        lead = [*case.unit.members.values_list("id", flat=True)]
        if lead:
            kind = kinds.of(case.kind)
            do_notify(
                recipients=lead, kind="case_assigned", title=f"{unit.name}已反馈会办意见", body=kind.label(case),
                page=kind.page(case), data={"case_id": case.pk, "case_kind": case.kind, "unit": unit.name},
                event_key=f"case:{case.pk}:joint_note:{event.pk}",
            )
    return event
