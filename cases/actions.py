"""Every write of the case engine: `do_<verb>_case(case_id, *, actor=…)`.

Each action owns its transaction, locks the case row (`select_for_update`), checks the move
against `Case.TRANSITIONS` and the actor's standing (`cases.access`), writes a timeline row
and saves with `update_fields`. Two people acting at once: one wins, the other gets 409 with
the current status. Notifications are written in the same transaction with
`notifications.actions.do_notify`, which sends them after commit.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases import kinds
from cases.access import acts_for_unit, is_reporter, reachable_units
from cases.models import Case, CaseAnswerPhoto, CaseEvent, ResponsibleUnit
from cases.realtime import case_frames, publish_case_event
from core.errors import Conflict, Forbidden, InvalidInput
from images.pipeline import validate_image_ids
from moderation import recheck
from moderation.content import PENDING_CHECK, SCENE_COMMENT, check_text
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from notifications.realtime import publish_many_on_commit
from residents.access import is_staff_for
from residents.models import Region, Role, User

REOPEN_WINDOW = dt.timedelta(days=7)  # the reporter may reopen this long after the answer; then it closes
ESCALATION_BATCH = 1000
MAX_ANSWER_PHOTOS = 9


def _locked(case_id: int) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("unit", "street").get(pk=case_id)


def _record(case: Case, *, kind: str, actor: User | None, from_status: str = "", to_status: str = "",
            from_unit: ResponsibleUnit | None = None, to_unit: ResponsibleUnit | None = None, reason: str = "") -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, kind=kind, actor=actor, from_status=from_status, to_status=to_status or case.status,
        from_unit=from_unit, to_unit=to_unit, reason=reason,
    )


def _require_move(case: Case, to: str, *, expected_status: str | None = None) -> str:
    if expected_status and expected_status != case.status:
        raise Conflict("case_state_changed", "状态已变化，请刷新后重试", status=case.status)
    role = Case.TRANSITIONS.get((case.status, to))
    if role is None:
        raise Conflict("case_state_changed", f"当前状态（{case.get_status_display()}）不能执行此操作", status=case.status)
    return role


def _require_unit(actor: User, case: Case) -> None:
    if not acts_for_unit(actor, case):
        raise Forbidden("not_responsible_unit", "只有责任单位或本辖区工作人员可以办理")


def _require_reporter(actor: User, case: Case) -> None:
    if not is_reporter(actor, case):
        raise Forbidden("reporter_only", "只有反映人可以执行此操作")


def _set_phase_due(case: Case) -> None:
    case.due_at = case.phase_due()


def _unit_members(unit: ResponsibleUnit | None) -> list[int]:
    if unit is None:
        return []
    return list(unit.members.values_list("id", flat=True))


def _tell_unit(case: Case, unit: ResponsibleUnit, *, title: str, event: CaseEvent, fresh: bool = False,
               also_publish: list | None = None) -> None:
    """`fresh`: `event` was written in this transaction (nobody has its notice yet: no check).
    `also_publish`: realtime rows written in the inbox's INSERT (published anyway without members)."""
    members = _unit_members(unit)
    if members:
        kind = kinds.of(case.kind)
        do_notify(
            recipients=members, kind="case_assigned", title=title, body=kind.label(case), page=kind.page(case),
            data={"case_id": case.pk, "case_kind": case.kind, "unit": unit.name, "due_at": case.accept_due_at},
            event_key=f"case:{case.pk}:assigned:{event.pk}", fresh=fresh, also_publish=also_publish,
            # Minute deadlines (a sensor alarm): its push goes ahead of routine sends.
            urgent=case.accept_minutes is not None,
        )
    elif also_publish:
        publish_many_on_commit(also_publish)


def _update_data(case: Case, kind: kinds.CaseKind, **extra) -> dict:
    """What a `case_update` push says besides its title and body: which case, in what state."""
    return {"case_id": case.pk, "case_kind": case.kind, "status": case.status, "label": kind.label(case),
            "status_label": case.get_status_display(), **extra}


def _tell_reporters(case: Case, *, title: str, body: str, event: CaseEvent) -> None:
    kind = kinds.of(case.kind)
    recipients = {*kind.followers(case)}
    if case.reporter_id:
        recipients.add(case.reporter_id)
    if recipients:
        do_notify(
            recipients=sorted(recipients), kind="case_update", title=title, body=body[:500], page=kind.page(case),
            data=_update_data(case, kind),
            event_key=f"case:{case.pk}:{event.kind}:{event.pk}",
        )


def do_open_case(
    *, actor: User | None, kind: str, unit: ResponsibleUnit, neighborhood: Region, accept_hours: int, resolve_hours: int,
    reporter: User | None, note: str = "", accept_minutes: int | None = None, resolve_minutes: int | None = None,
) -> Case:
    """A new case routed to `unit`. Called inside the kind's own create transaction. The reporter
    is the resident the case is about: the actor, or the author of a feed post staff turned
    into a case, or None (a partner system through Open311, with `actor` None too; `note` then
    says who filed, on the `submitted` timeline row). `accept_minutes` / `resolve_minutes`, when
    given, set minute-scale deadlines (a sensor alarm) that win over the hours.

    Nobody is told here: the kind's row (which names and opens the case in the push and the
    realtime frame) does not exist yet. The kind calls `do_announce_case` once it has written it."""
    now = timezone.now()
    # Two INSERTs and nothing else: the deadlines are set before the case is written, and no
    # savepoint is taken (the kind's transaction holds both rows; a failure undoes it all).
    with transaction.atomic(savepoint=False):
        case = Case(
            kind=kind, status=Case.Status.SUBMITTED, unit=unit, unit_chain=[unit.pk], neighborhood=neighborhood,
            street_id=neighborhood.parent_id, reporter=reporter, accept_hours=accept_hours, resolve_hours=resolve_hours,
            accept_minutes=accept_minutes, resolve_minutes=resolve_minutes,
        )
        case.accept_due_at, case.resolve_due_at = now + case.accept_window(), now + case.resolve_window()
        case.due_at = case.accept_due_at
        case.save(force_insert=True)
        # do_announce_case reads it from here rather than querying for it.
        case._submitted_event = _record(case, kind=CaseEvent.Kind.SUBMITTED, actor=actor, to_unit=unit, reason=note)
    return case


def do_announce_case(case: Case) -> None:
    """Tell the unit a new case waits for it (`case_assigned`) and send the `case.created` frame,
    in the kind's create transaction, after the kind's own row is written (so the push names the
    case and opens it, and the frame carries the kind's id)."""
    fresh = getattr(case, "_submitted_event", None)  # do_open_case in this transaction
    event = fresh or CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SUBMITTED).order_by("pk").first()
    if event is None:
        _tell_unit(case, case.unit, title="新诉求待受理", event=event)
        return
    # The case.created frame goes in the same INSERT as the unit's inbox rows; a case just opened
    # has no joint units and no followers yet (they join it later).
    frames = case_frames(case, event, just_opened=fresh is not None)
    _tell_unit(case, case.unit, title="新诉求待受理", event=event, fresh=fresh is not None, also_publish=frames)


def do_accept_case(case_id: int, *, actor: User, expected_status: str | None = None) -> Case:
    with transaction.atomic():
        case = _locked(case_id)
        _require_unit(actor, case)
        _require_move(case, Case.Status.ACCEPTED, expected_status=expected_status)
        before = case.status
        case.status = Case.Status.ACCEPTED
        case.accepted_at = timezone.now()
        _set_phase_due(case)
        case.save(update_fields=["status", "accepted_at", "due_at"])
        publish_case_event(case, _record(case, kind=CaseEvent.Kind.ACCEPTED, actor=actor, from_status=before, to_unit=case.unit))
    return case


def do_reject_case(case_id: int, *, actor: User, reason: str) -> Case:
    if not reason.strip():
        raise InvalidInput("reason_required", "请填写退回原因", field="reason")
    with transaction.atomic():
        case = _locked(case_id)
        _require_unit(actor, case)
        _require_move(case, Case.Status.REJECTED)
        before = case.status
        case.status = Case.Status.REJECTED
        case.reject_reason = reason.strip()[:500]
        case.finished_at = timezone.now()
        _set_phase_due(case)
        case.save(update_fields=["status", "reject_reason", "finished_at", "due_at"])
        event = _record(case, kind=CaseEvent.Kind.REJECTED, actor=actor, from_status=before, reason=case.reject_reason)
        _tell_reporters(case, title="您反映的诉求被退回", body=case.reject_reason, event=event)
    return case


def do_transfer_case(case_id: int, *, actor: User, to_unit_id: int, reason: str, override: bool = False) -> Case:
    """Hand the case to another unit (up, down or sideways) with a reason; the new unit must
    accept it within the accept target again. Back to a unit already in the chain is a loop
    (409 transfer_loop) unless staff of the neighborhood override it; straight back to the unit
    it just came from (A→B→A) is a loop whoever asks."""
    if not reason.strip():
        raise InvalidInput("reason_required", "请填写转办原因", field="reason")
    with transaction.atomic():
        case = _locked(case_id)
        _require_unit(actor, case)
        if case.status not in Case.TRANSFERABLE:
            raise Conflict("case_state_changed", f"当前状态（{case.get_status_display()}）不能转办", status=case.status)
        target = reachable_units(case).filter(pk=to_unit_id).first()
        if target is None:
            raise InvalidInput("unknown_unit", "目标单位不存在或不在本辖区", field="unit")
        if target.pk == case.unit_id:
            raise InvalidInput("same_unit", "已经是该单位在办理", field="unit")
        chain = list(case.unit_chain)
        ping_pong = len(chain) >= 2 and chain[-2] == target.pk
        if ping_pong or (target.pk in chain and not (override and is_staff_for(actor, case.neighborhood_id))):
            raise Conflict(
                "transfer_loop", f"「{target.name}」已办理过此件，不能来回转办" + ("" if ping_pong else "（工作人员可强制转办）"),
                unit=target.pk, chain=chain, override_allowed=not ping_pong,
            )
        before, source = case.status, case.unit
        now = timezone.now()
        case.unit, case.supervising_unit = target, None
        case.unit_chain = [*chain, target.pk]
        case.status = Case.Status.SUBMITTED if before != Case.Status.REOPENED else Case.Status.REOPENED
        case.accept_due_at = now + case.accept_window()
        _set_phase_due(case)
        case.save(update_fields=["unit", "supervising_unit", "unit_chain", "status", "accept_due_at", "due_at"])
        event = _record(
            case, kind=CaseEvent.Kind.TRANSFERRED, actor=actor, from_status=before, from_unit=source, to_unit=target,
            reason=reason.strip(),
        )
        _tell_unit(case, target, title="转办诉求待受理", event=event)
        publish_case_event(case, event)
    return case


def do_resolve_case(case_id: int, *, actor: User, answer: str, photo_ids: list[int] | None = None) -> Case:
    """The unit's answer, with up to 9 photos the answering person uploaded (images pipeline);
    a later answer (after a reopen) replaces the earlier one's photos."""
    if not answer.strip():
        raise InvalidInput("answer_required", "请填写答复内容", field="answer")
    photo_ids = validate_image_ids(actor, photo_ids or [], limit=MAX_ANSWER_PHOTOS)
    with transaction.atomic():
        case = _locked(case_id)
        _require_unit(actor, case)
        _require_move(case, Case.Status.RESOLVED)
        before = case.status
        case.status = Case.Status.RESOLVED
        case.answer = answer.strip()
        case.resolved_at = timezone.now()
        _set_phase_due(case)
        case.save(update_fields=["status", "answer", "resolved_at", "due_at"])
        CaseAnswerPhoto.objects.filter(case=case).delete()
        CaseAnswerPhoto.objects.bulk_create(CaseAnswerPhoto.rows(photo_ids, case=case))
        event = _record(case, kind=CaseEvent.Kind.RESOLVED, actor=actor, from_status=before, reason=case.answer)
        _tell_reporters(case, title="您反映的诉求已答复", body=case.answer, event=event)
        publish_case_event(case, event)
    return case


def do_confirm_case(case_id: int, *, actor: User) -> Case:
    with transaction.atomic():
        case = _locked(case_id)
        _require_reporter(actor, case)
        _require_move(case, Case.Status.CONFIRMED)
        case.status = Case.Status.CONFIRMED
        case.finished_at = timezone.now()
        case.save(update_fields=["status", "finished_at"])
        _record(case, kind=CaseEvent.Kind.CONFIRMED, actor=actor, from_status=Case.Status.RESOLVED)
    return case


def do_reopen_case(case_id: int, *, actor: User, reason: str) -> Case:
    """The reporter says the answer did not solve it, within REOPEN_WINDOW of the answer: the
    same unit must accept and resolve it again, on fresh deadlines."""
    if not reason.strip():
        raise InvalidInput("reason_required", "请说明仍未解决的情况", field="reason")
    with transaction.atomic():
        case = _locked(case_id)
        _require_reporter(actor, case)
        _require_move(case, Case.Status.REOPENED)
        now = timezone.now()
        if case.resolved_at and now - case.resolved_at > REOPEN_WINDOW:
            raise Conflict("reopen_window_passed", "答复已超过7天，不能重新打开，请重新反映", status=case.status)
        case.status = Case.Status.REOPENED
        case.reopen_count = F("reopen_count") + 1
        case.accept_due_at = now + case.accept_window()
        case.resolve_due_at = now + case.resolve_window()
        case.resolved_at = None
        _set_phase_due(case)
        case.save(update_fields=["status", "reopen_count", "accept_due_at", "resolve_due_at", "resolved_at", "due_at"])
        case.refresh_from_db(fields=["reopen_count"])
        event = _record(case, kind=CaseEvent.Kind.REOPENED, actor=actor, from_status=Case.Status.RESOLVED,
                        to_unit=case.unit, reason=reason.strip())
        _tell_unit(case, case.unit, title="诉求被重新打开", event=event)
    return case


def check_rating_comment(actor: User, comment: str) -> str:
    """WeChat's content check of the rating's comment, before any transaction: its status
    ("" without a comment); risky is 400 content_rejected."""
    if not comment.strip():
        return ""
    return check_text(user=actor, content=comment.strip(), scene=SCENE_COMMENT).status


def do_rate_case(case_id: int, *, actor: User, score: int, comment: str = "") -> Case:
    if not 1 <= score <= 5:
        raise InvalidInput("invalid_score", "评分须为1到5", field="score")
    comment_status = check_rating_comment(actor, comment)
    with transaction.atomic():
        case = _locked(case_id)
        _require_reporter(actor, case)
        if case.status not in Case.RATABLE:
            raise Conflict("case_state_changed", "确认解决或办结后才能评价", status=case.status)
        if case.rating is not None:
            raise Conflict("already_rated", "已经评价过了", rating=case.rating)
        case.rating, case.rated_at = score, timezone.now()
        case.rating_comment, case.rating_comment_status = comment.strip()[:500], comment_status
        case.save(update_fields=["rating", "rated_at", "rating_comment", "rating_comment_status"])
        if comment_status == PENDING_CHECK:
            recheck.schedule()  # WeChat was unreachable: moderation's sweep asks again (cases/apps.py)
        _record(case, kind=CaseEvent.Kind.RATED, actor=actor, from_status=case.status, reason=f"{score}星")
    return case


def do_merge_case(case_id: int, *, into_id: int, actor: User, reason: str = "", names: tuple[str, str] = ("", "")) -> tuple[Case, Case]:
    """Staff of the neighborhood merge a case into an earlier open one of the same neighborhood:
    the merged case ends (`merged`, final), the other carries on; a timeline row on each. The
    kind moves its followers (matters.actions.do_merge_matters). Both rows are locked in id order,
    so two merges crossing each other cannot deadlock. `names` are how the kind numbers the two
    (the matter ids a resident sees) for the timeline rows."""
    if case_id == into_id:
        raise InvalidInput("merge_into_self", "不能合并到自身", field="into")
    with transaction.atomic():
        locked = {
            c.pk: c for c in Case.objects.select_for_update(of=("self",)).select_related("unit", "street")
            .filter(pk__in=(case_id, into_id)).order_by("pk")
        }
        case, into = locked.get(case_id), locked.get(into_id)
        if into is None:
            raise InvalidInput("unknown_matter", "要并入的诉求不存在", field="into")
        if not is_staff_for(actor, case.neighborhood_id):
            raise Forbidden("staff_only", "只有本辖区工作人员可以合并诉求")
        if into.neighborhood_id != case.neighborhood_id or into.kind != case.kind:
            raise InvalidInput("merge_other_neighborhood", "只能合并同一居委/村的诉求", field="into")
        if (into.created_at, into.pk) > (case.created_at, case.pk):
            raise InvalidInput("merge_into_later", "只能把后反映的诉求并入先反映的诉求", field="into")
        if into.status not in Case.OPEN:
            raise Conflict("merge_target_closed", f"要并入的诉求已{into.get_status_display()}，不能再并入", status=into.status)
        if case.status not in Case.OPEN:
            raise Conflict("case_state_changed", f"当前状态（{case.get_status_display()}）不能合并", status=case.status)
        before, now = case.status, timezone.now()
        case.status, case.finished_at, case.due_at = Case.Status.MERGED, now, None
        case.save(update_fields=["status", "finished_at", "due_at"])
        note = reason.strip()[:500]
        _record(case, kind=CaseEvent.Kind.MERGED, actor=actor, from_status=before, to_unit=into.unit,
                reason=f"并入 {names[1] or f'#{into.pk}'}" + (f"：{note}" if note else ""))
        _record(into, kind=CaseEvent.Kind.MERGED, actor=actor, from_status=into.status,
                reason=f"合并了 {names[0] or f'#{case.pk}'}" + (f"：{note}" if note else ""))
    return case, into


def do_tell_merged(case: Case, into: Case, *, recipients: list[int]) -> None:
    """Tell the merged case's reporter and followers where it went (and the answer, if the case
    it joined was already answered: later answers reach them as its followers)."""
    if not recipients:
        return
    kind = kinds.of(into.kind)
    body = f"已并入「{kind.label(into)}」一并办理" + (f"。答复：{into.answer}" if into.status == Case.Status.RESOLVED else "")
    do_notify(
        recipients=sorted(set(recipients)), kind="case_update", title="您反映的诉求已合并办理", body=body[:500],
        page=kind.page(into), data=_update_data(into, kind, merged_case_id=case.pk),
        event_key=f"case:{case.pk}:merged:{into.pk}",
    )


def do_record_case_reading(case_id: int, *, reason: str) -> CaseEvent:
    """A timeline row for what a device reported (a sensor alert's readings); no status move."""
    case = Case.objects.only("pk", "status").get(pk=case_id)
    return _record(case, kind=CaseEvent.Kind.READING, actor=None, from_status=case.status, reason=reason[:500])


def do_record_case_support(case_id: int, *, actor: User) -> CaseEvent:
    """A timeline row for a +1; the kind keeps who supported (matters.MatterSupport)."""
    case = Case.objects.get(pk=case_id)
    return _record(case, kind=CaseEvent.Kind.SUPPORTED, actor=actor, from_status=case.status)


# --- periodic jobs (registered in cases.apps) -------------------------------------------


def do_escalate_overdue_cases(*, now: dt.datetime | None = None) -> int:
    """Each case whose current deadline passed goes up one level: its supervising unit becomes
    the parent of the unit above it so far, a timeline row says which deadline, and the
    supervising unit's members and the street's officers are notified. Once per deadline
    (`escalated_for`), so running twice, or twice at once, escalates once."""
    now = now or timezone.now()
    candidate_ids = list(
        Case.objects.filter(due_at__lt=now).exclude(escalated_for=F("due_at")).order_by("due_at")
        .values_list("pk", flat=True)[:ESCALATION_BATCH]
    )
    escalated = 0
    for case_id in candidate_ids:
        with transaction.atomic():
            case = Case.objects.select_for_update(of=("self",)).select_related("unit", "supervising_unit").get(pk=case_id)
            if case.due_at is None or case.due_at >= now or case.escalated_for == case.due_at:
                continue  # answered, transferred or escalated meanwhile
            above = (case.supervising_unit or case.unit).parent
            which = "受理" if case.status in Case.ACCEPT_PHASE else "办结"
            case.escalated_for = case.due_at
            if above is not None:
                case.supervising_unit = above
            case.save(update_fields=["escalated_for", "supervising_unit"])
            event = _record(
                case, kind=CaseEvent.Kind.ESCALATED, actor=None, from_status=case.status,
                from_unit=case.unit, to_unit=above, reason=f"超过{which}时限" + (f"，已上报{above.name}" if above else "，已报街道"),
            )
            kind = kinds.of(case.kind)
            # Every kind's board hears it (a service request's too, beside its own overdue frame).
            publish_case_event(case, event)
            if kind.on_overdue is not None:
                kind.on_overdue(case, event, which)
                escalated += 1
                continue
            recipients = {*_unit_members(above), *RoleHolders(case.street_id, Role.Kind.STREET_OFFICER).user_ids()}
            if recipients:
                do_notify(
                    recipients=sorted(recipients), kind="case_overdue", title=f"诉求{which}超时", body=kind.label(case),
                    page=kind.page(case),
                    data={"case_id": case.pk, "case_kind": case.kind, "overdue_label": f"{which}超时", "due_at": case.due_at,
                          "unit": case.unit.name},
                    event_key=f"case:{case.pk}:escalated:{event.pk}",
                )
            escalated += 1
    return escalated


def do_close_unconfirmed_cases(*, now: dt.datetime | None = None) -> int:
    """Answers the reporter neither confirmed nor reopened within REOPEN_WINDOW close."""
    now = now or timezone.now()
    candidate_ids = list(
        Case.objects.filter(status=Case.Status.RESOLVED, resolved_at__lt=now - REOPEN_WINDOW)
        .values_list("pk", flat=True)[:ESCALATION_BATCH]
    )
    closed = 0
    for case_id in candidate_ids:
        with transaction.atomic():
            case = _locked(case_id)
            if case.status != Case.Status.RESOLVED or case.resolved_at >= now - REOPEN_WINDOW:
                continue
            case.status, case.finished_at = Case.Status.CLOSED, now
            case.save(update_fields=["status", "finished_at"])
            _record(case, kind=CaseEvent.Kind.CLOSED, actor=None, from_status=Case.Status.RESOLVED, reason="答复7天内未确认，自动办结")
            closed += 1
    return closed
