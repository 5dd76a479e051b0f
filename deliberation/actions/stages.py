"""Moving a topic along `Topic.TRANSITIONS`: what each target stage checks and sets, as data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound
from deliberation import rules
from deliberation.actions.common import S, check_actor, lock_topic, require_public, state_changed
from deliberation.actions.evaluations import evaluation_summary
from deliberation.actions.milestones import topic_progress
from deliberation.actions.moves import maybe_open_discussion, move_topic
from deliberation.actions.votes import do_close_vote, eligible_owners
from deliberation.models import Follow, MoveCondition, Support, Topic, Vote
from residents.models import User

DEFAULT_EVALUATION_DAYS = 14


@dataclass
class StageMove:
    """What the caller gave for one stage move; the table's step for the target stage reads it."""

    topic: Topic
    now: datetime
    summary: str
    vote_rules: dict[str, Any] | None
    evaluation_closes_at: datetime | None


# --- what a move into each stage checks and sets on the topic, before move_topic() saves it,
# records the event, publishes it and tells the topic's audience (the same for every stage) ---


def _open_discussion(move: StageMove) -> None:
    require_public(move.topic)


def _open_vote(move: StageMove) -> None:
    topic = move.topic
    require_public(topic)
    if not move.summary.strip():
        raise InvalidInput("summary_required", "开启表决前须发布讨论小结", field="summary")
    if move.vote_rules is None:
        raise InvalidInput("vote_rules_required", "请设置表决规则", field="vote")
    fields = rules.normalize_vote_rules(move.vote_rules, now=move.now)
    if fields["pass_rule"] == Vote.PassRule.CIVIL_CODE:
        owners, area = eligible_owners(topic)
        if owners == 0 or area <= 0:
            raise InvalidInput("vote_rule_impossible", "范围内没有登记面积的业主，民法典规则无法满足", field="pass_rule")
    Vote.objects.create(topic=topic, **fields)
    topic.summary = move.summary.strip()


def _open_evaluation(move: StageMove) -> None:
    now = move.now
    closes = move.evaluation_closes_at or now + timedelta(days=DEFAULT_EVALUATION_DAYS)
    if closes <= now:
        raise InvalidInput("evaluation_window_invalid", "评估截止时间须晚于现在", field="evaluation_closes_at")
    if (timezone.localdate(closes) - timezone.localdate(now)).days < rules.MIN_EVALUATION_DAYS:
        # Closing waits for the window, so a window of minutes would make that gate empty.
        # Counted in calendar days: "a week from now" picked to the minute is a week.
        raise InvalidInput(
            "evaluation_window_too_short",
            f"效果评估期至少 {rules.MIN_EVALUATION_DAYS} 天",
            field="evaluation_closes_at",
            min_days=rules.MIN_EVALUATION_DAYS,
        )
    move.topic.evaluation_closes_at = closes


def _close(move: StageMove) -> None:
    if move.topic.status == S.EVALUATING:
        move.topic.evaluation_summary = evaluation_summary(move.topic)


STAGE_WRITES: dict[str, Callable[[StageMove], None]] = {
    S.DISCUSSING: _open_discussion,
    S.VOTING: _open_vote,
    S.EVALUATING: _open_evaluation,
    S.CLOSED: _close,
}


def _check_stop_implementation(to: str, note: str) -> None:
    if to != S.EVALUATING:
        raise InvalidInput("stop_implementation_invalid", "只有实施中的议题可以终止实施", field="stop_implementation")
    if not note.strip():
        raise InvalidInput("stop_reason_required", "终止实施须填写原因（居民可见）", field="note")


def do_transition_topic(
    *,
    topic_id: int,
    actor: User,
    to: str,
    note: str = "",
    expected_from: str | None = None,
    summary: str = "",
    vote_rules: dict[str, Any] | None = None,
    merge_into_id: int | None = None,
    evaluation_closes_at: datetime | None = None,
    stop_implementation: bool = False,
) -> Topic:
    """Move a topic along Topic.TRANSITIONS. Raises Conflict (409) if it moved first, or with
    the code of a Topic.MOVE_CONDITIONS entry it does not meet yet. Closing the vote and merging
    are actions of their own (votes.do_close_vote, do_merge_topic); every other stage's checks
    and fields are its STAGE_WRITES step.

    `stop_implementation` (终止实施) moves implementing → evaluating before the milestones
    are done; it needs a `note`, which residents read in the event log and the notification."""
    if stop_implementation:
        _check_stop_implementation(to, note)
    if to == S.DECIDED:
        return do_close_vote(topic_id=topic_id, actor=actor, note=note, expected_from=expected_from)
    if to == S.MERGED:
        if merge_into_id is None:
            raise InvalidInput("merge_target_required", "请指定合并到的议题", field="merge_into")
        return do_merge_topic(topic_id=topic_id, into_id=merge_into_id, actor=actor, note=note)
    now = timezone.now()
    with transaction.atomic():
        topic = lock_topic(topic_id)
        check_actor(topic, actor, to)
        if (expected_from and topic.status != expected_from) or not topic.can_move_to(to):
            raise state_changed(topic)
        condition = topic.unmet_condition(to, now=now)
        if condition is not None:
            if not (condition.overridable and stop_implementation):
                raise _refusal(topic, condition)
            note = f"终止实施：{note.strip()}"
        if to in STAGE_WRITES:
            STAGE_WRITES[to](StageMove(topic, now, summary, vote_rules, evaluation_closes_at))
        move_topic(topic, to, actor=actor, note=note or summary[:200])
    return topic


def _refusal(topic: Topic, condition: MoveCondition) -> Conflict:
    """The error for an unmet gate, its code written out here (as `Topic.MOVE_CONDITIONS` names
    it) so the OpenAPI error scan can read it (core/error_scan.py)."""
    current = topic.status
    if condition.predicate == "can_start_evaluation":
        total, unfinished = topic.milestone_counts()
        return Conflict(
            "milestones_incomplete",
            condition.message,
            current=current,
            milestones=total,
            unfinished=unfinished,
            progress=topic_progress(topic),
        )
    closes_at = topic.evaluation_closes_at
    detail = {"evaluation_closes_at": timezone.localtime(closes_at).isoformat()} if closes_at else {}
    return Conflict("evaluation_window_open", condition.message, current=current, **detail)


def do_merge_topic(*, topic_id: int, into_id: int, actor: User, note: str = "") -> Topic:
    """Merge a duplicate (pre-vote) into another topic of the same neighborhood.

    Supports and follows carry over; a resident who supported both keeps one support.
    """
    if topic_id == into_id:
        raise InvalidInput("merge_into_self", "不能合并到自身", field="merge_into")
    with transaction.atomic():
        # Lock both in id order so two opposite merges cannot deadlock.
        locked = {t.pk: t for t in (lock_topic(pk) for pk in sorted([topic_id, into_id]))}
        topic, target = locked[topic_id], locked[into_id]
        check_actor(topic, actor, S.MERGED)
        if target.neighborhood_id != topic.neighborhood_id or target.building_group_id != topic.building_group_id:
            raise NotFound("merge_target_not_found", "目标议题不存在")
        if not topic.can_move_to(S.MERGED):
            raise state_changed(topic)
        if target.status not in Topic.PRE_VOTE or not target.is_public:
            raise Conflict("merge_target_not_open", "目标议题已进入表决或结束", current=target.status)
        Support.objects.bulk_create(
            [Support(topic=target, user_id=s.user_id, household_key=s.household_key) for s in topic.supports.all()],
            ignore_conflicts=True,
        )
        Follow.objects.bulk_create(
            [Follow(topic=target, user_id=uid) for uid in topic.follows.values_list("user_id", flat=True)],
            ignore_conflicts=True,
        )
        topic.merged_into = target
        move_topic(topic, S.MERGED, actor=actor, note=note or f"合并至议题 #{target.pk}")
        maybe_open_discussion(target)
    return topic
