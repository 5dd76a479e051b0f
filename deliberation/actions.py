"""Every write of the 议事 loop. Each action runs in one transaction, locks the topic row
it changes (SELECT ... FOR UPDATE), logs what happened and publishes on commit.

Locking the topic for every ballot serializes a topic's ballots against its close: a
ballot either commits before the close counts, or sees `decided` and is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from deliberation import rules
from deliberation.access import Home, is_topic_staff, require_verified_home
from deliberation.models import (
    CONTENT_TRANSITIONS,
    MAX_MILESTONE_PHOTOS,
    MAX_TOPIC_IMAGES,
    Ballot,
    BallotMark,
    BallotRevision,
    ContentStatus,
    Decision,
    Evaluation,
    Follow,
    Milestone,
    MilestonePhoto,
    MilestoneUpdate,
    MoveCondition,
    Reply,
    Support,
    Topic,
    TopicContentLog,
    TopicEvent,
    TopicImage,
    TopicReport,
    Vote,
)
from images.pipeline import validate_image_ids
from moderation import recheck
from moderation.content import SCENE_COMMENT, SCENE_FORUM, TextCheck, check_text, schedule_recheck
from notifications.actions import do_notify
from notifications.realtime import publish_on_commit
from residents.access import profile
from residents.models import Membership, Region, User

S = Topic.Status
C = ContentStatus
DEFAULT_EVALUATION_DAYS = 14


# --- helpers -----------------------------------------------------------------------


def _lock(topic_id: int) -> Topic:
    try:
        # of=self: lock only the topic (and PostgreSQL refuses FOR UPDATE on the outer-joined group).
        return (
            Topic.objects.select_for_update(of=("self",))
            .select_related("neighborhood", "building_group")
            .get(pk=topic_id)
        )
    except Topic.DoesNotExist:
        raise NotFound("topic_not_found", "议题不存在") from None


def _state_changed(topic: Topic) -> Conflict:
    return Conflict("topic_state_changed", "议题状态已变化，请刷新后重试", current=topic.status)


def _require_public(topic: Topic) -> None:
    """Residents take part only in a topic whose text passed the content check (or staff approved)."""
    if not topic.is_public:
        raise Conflict("topic_not_published", "议题内容尚在审核中", content_status=topic.content_status)


def _schedule_recheck() -> None:
    from moderation.tasks import recheck_pending_content

    schedule_recheck(recheck_pending_content, delay_setting="DELIBERATION_RECHECK_DELAY_SECONDS")


def _snapshot_topic(topic: Topic) -> dict[str, Any]:
    return {
        "title": topic.title,
        "body": topic.body,
        "content_status": topic.content_status,
        "status": topic.status,
        "image_ids": list(TopicImage.objects.filter(topic=topic).values_list("image_id", flat=True)),
    }


def _snapshot_reply(reply: Reply) -> dict[str, Any]:
    return {"body": reply.body, "content_status": reply.content_status, "author_id": reply.author_id}


def _log(
    topic: Topic, *, actor: User | None, action: str, reason: str = "", reply: Reply | None = None, snapshot: dict
) -> TopicContentLog:
    return TopicContentLog.objects.create(
        topic=topic, reply=reply, actor=actor, action=action, reason=reason[:200], snapshot=snapshot
    )


def _publish(topic: Topic, type_: str, payload: dict[str, Any]) -> None:
    """Neighborhood stream carries ids only for building-group topics: clients fetch over HTTP,
    where access rules apply, so people outside the group learn nothing from the socket."""
    body = {"topic_id": topic.pk, "status": topic.status, "building_group_id": topic.building_group_id, **payload}
    if topic.building_group_id is None:
        body["title"] = topic.title
    publish_on_commit(f"neighborhood.{topic.neighborhood_id}", type_, body)
    publish_on_commit(f"topic.{topic.pk}", type_, body)


def audience(topic: Topic) -> set[int]:
    """Supporters, voters and followers of a topic: who hears about its progress."""
    ids = set(Follow.objects.filter(topic=topic).values_list("user_id", flat=True))
    ids |= set(Support.objects.filter(topic=topic).values_list("user_id", flat=True))
    ids |= set(Ballot.objects.filter(topic=topic).values_list("user_id", flat=True))
    return ids


def _notify(topic: Topic, *, title: str, body: str, event_key: str, exclude: User | None = None) -> None:
    recipients = audience(topic) - ({exclude.pk} if exclude is not None else set())
    if recipients:
        do_notify(
            recipients=recipients,
            kind="topic_update",
            title=title,
            body=body,
            page=f"pages/topics/detail?id={topic.pk}",
            # Only the topic's audience gets it, so the title may travel (unlike on the neighborhood stream).
            data={
                "topic_id": topic.pk, "status": topic.status, "topic_title": topic.title,
                "stage_label": Topic.Status(topic.status).label,
            },
            event_key=event_key,
        )


def _move(topic: Topic, to: str, *, actor: User | None, note: str = "") -> TopicEvent:
    """Record a move the caller has already checked against the table (topic row locked)."""
    from_status = topic.status
    topic.status = to
    topic.status_changed_at = timezone.now()
    topic.save(
        update_fields=[
            "status",
            "status_changed_at",
            "outcome",
            "summary",
            "merged_into",
            "evaluation_closes_at",
            "evaluation_summary",
        ]
    )
    event = TopicEvent.objects.create(topic=topic, actor=actor, from_status=from_status, to_status=to, note=note[:500])
    _publish(topic, "topic.status_changed", {"from": from_status, "to": to, "event_id": event.pk})
    _notify(
        topic,
        title=f"议题「{topic.title[:40]}」{Topic.Status(to).label}",
        body=note[:200] or f"议题进入「{Topic.Status(to).label}」阶段",
        event_key=f"topic:{topic.pk}:event:{event.pk}",
        exclude=actor,
    )
    return event


def _support_households(topic: Topic) -> int:
    return Support.objects.filter(topic=topic).values("household_key").distinct().count()


def _maybe_open_discussion(topic: Topic) -> None:
    """Caller holds the topic lock: the count and the move see the same supports."""
    if topic.status != S.PROPOSED or not topic.is_public:
        return
    threshold = rules.support_threshold(topic)
    households = _support_households(topic)
    if households >= threshold:
        _move(topic, S.DISCUSSING, actor=None, note=f"附议达到 {households} 户（门槛 {threshold} 户），自动进入讨论")


# --- topics --------------------------------------------------------------------------


def _attach_images(topic: Topic, image_ids: list[int]) -> None:
    TopicImage.objects.filter(topic=topic).delete()
    TopicImage.objects.bulk_create(
        [TopicImage(topic=topic, image_id=image_id, position=i) for i, image_id in enumerate(image_ids)]
    )


def do_create_topic(
    *,
    actor: User,
    neighborhood_id: int,
    building_group_id: int | None,
    category: str,
    title: str,
    body: str,
    image_ids: list[int] | None = None,
) -> Topic:
    p = profile(actor)
    if neighborhood_id not in p.member_of | p.pending_in | p.staff_of:
        raise NotFound("neighborhood_not_found", "居委/村不存在")
    neighborhood = Region.objects.filter(pk=neighborhood_id, level=Region.Level.NEIGHBORHOOD).first()
    if neighborhood is None:
        raise NotFound("neighborhood_not_found", "居委/村不存在")
    group = None
    if building_group_id is not None:
        group = Region.objects.filter(
            pk=building_group_id, level=Region.Level.BUILDING_GROUP, parent_id=neighborhood_id
        ).first()
        if group is None:
            raise NotFound("building_group_not_found", "楼组不存在")
    draft = Topic(neighborhood=neighborhood, building_group=group)
    if neighborhood_id not in p.staff_of:
        from deliberation.access import home_in_scope

        if home_in_scope(actor, draft) is None:
            raise NotFound("building_group_not_found", "楼组不存在")
        require_verified_home(actor, draft)
    image_ids = validate_image_ids(actor, list(image_ids or []), limit=MAX_TOPIC_IMAGES)
    # Before the transaction: a network call must not hold locks. risky raises content_rejected here.
    check = check_text(user=actor, content=body, title=title, scene=SCENE_FORUM)
    with transaction.atomic():
        topic = Topic.objects.create(
            neighborhood=neighborhood,
            building_group=group,
            category=category,
            title=title,
            body=body,
            author=actor,
            content_status=check.status,
            content_trace_id=check.trace_id,
        )
        _attach_images(topic, image_ids)
        Follow.objects.create(topic=topic, user=actor)
        TopicEvent.objects.create(topic=topic, actor=actor, from_status="", to_status=S.PROPOSED, note="提出议题")
        if topic.is_public:
            _publish(topic, "topic.created", {"category": category})
        elif topic.content_status == C.PENDING_CHECK:
            _schedule_recheck()
    return topic


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
    the code of a Topic.MOVE_CONDITIONS entry it does not meet yet.

    `stop_implementation` (终止实施) moves implementing → evaluating before the milestones
    are done; it needs a `note`, which residents read in the event log and the notification."""
    if stop_implementation:
        if to != S.EVALUATING:
            raise InvalidInput("stop_implementation_invalid", "只有实施中的议题可以终止实施", field="stop_implementation")
        if not note.strip():
            raise InvalidInput("stop_reason_required", "终止实施须填写原因（居民可见）", field="note")
    if to == S.DECIDED:
        return do_close_vote(topic_id=topic_id, actor=actor, note=note, expected_from=expected_from)
    if to == S.MERGED:
        if merge_into_id is None:
            raise InvalidInput("merge_target_required", "请指定合并到的议题", field="merge_into")
        return do_merge_topic(topic_id=topic_id, into_id=merge_into_id, actor=actor, note=note)
    now = timezone.now()
    with transaction.atomic():
        topic = _lock(topic_id)
        _check_actor(topic, actor, to)
        if (expected_from and topic.status != expected_from) or not topic.can_move_to(to):
            raise _state_changed(topic)
        condition = topic.unmet_condition(to, now=now)
        if condition is not None:
            if not (condition.overridable and stop_implementation):
                raise Conflict(condition.code, condition.message, **_condition_detail(topic, condition))
            note = f"终止实施：{note.strip()}"
        if to in (S.DISCUSSING, S.VOTING):
            _require_public(topic)
        if to == S.VOTING:
            if not summary.strip():
                raise InvalidInput("summary_required", "开启表决前须发布讨论小结", field="summary")
            if vote_rules is None:
                raise InvalidInput("vote_rules_required", "请设置表决规则", field="vote")
            fields = rules.normalize_vote_rules(vote_rules, now=now)
            if fields["pass_rule"] == Vote.PassRule.CIVIL_CODE:
                owners, area = _eligible_owners(topic)
                if owners == 0 or area <= 0:
                    raise InvalidInput(
                        "vote_rule_impossible", "范围内没有登记面积的业主，民法典规则无法满足", field="pass_rule"
                    )
            Vote.objects.create(topic=topic, **fields)
            topic.summary = summary.strip()
        elif to == S.EVALUATING:
            closes = evaluation_closes_at or now + timedelta(days=DEFAULT_EVALUATION_DAYS)
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
            topic.evaluation_closes_at = closes
        elif to == S.CLOSED and topic.status == S.EVALUATING:
            topic.evaluation_summary = evaluation_summary(topic)
        _move(topic, to, actor=actor, note=note or summary[:200])
    return topic


def _condition_detail(topic: Topic, condition: MoveCondition) -> dict[str, Any]:
    detail: dict[str, Any] = {"current": topic.status}
    if condition.predicate == "can_start_evaluation":
        total, unfinished = topic.milestone_counts()
        detail.update(milestones=total, unfinished=unfinished, progress=topic_progress(topic))
    elif condition.predicate == "can_close_evaluation" and topic.evaluation_closes_at:
        detail["evaluation_closes_at"] = timezone.localtime(topic.evaluation_closes_at).isoformat()
    return detail


def _check_actor(topic: Topic, actor: User, to: str) -> None:
    if Topic.actor_kind_for(to) == "author":
        if topic.author_id != actor.pk:
            raise Forbidden("author_only", "只有提议人可以撤回议题")
    elif not is_topic_staff(actor, topic):
        raise Forbidden("staff_only", "仅限本居委工作人员操作")


def do_merge_topic(*, topic_id: int, into_id: int, actor: User, note: str = "") -> Topic:
    """Merge a duplicate (pre-vote) into another topic of the same neighborhood.

    Supports and follows carry over; a resident who supported both keeps one support.
    """
    if topic_id == into_id:
        raise InvalidInput("merge_into_self", "不能合并到自身", field="merge_into")
    with transaction.atomic():
        # Lock both in id order so two opposite merges cannot deadlock.
        locked = {t.pk: t for t in (_lock(pk) for pk in sorted([topic_id, into_id]))}
        topic, target = locked[topic_id], locked[into_id]
        _check_actor(topic, actor, S.MERGED)
        if target.neighborhood_id != topic.neighborhood_id or target.building_group_id != topic.building_group_id:
            raise NotFound("merge_target_not_found", "目标议题不存在")
        if not topic.can_move_to(S.MERGED):
            raise _state_changed(topic)
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
        _move(topic, S.MERGED, actor=actor, note=note or f"合并至议题 #{target.pk}")
        _maybe_open_discussion(target)
    return topic


# --- supports and follows --------------------------------------------------------------


def do_add_support(*, topic_id: int, actor: User) -> tuple[Topic, bool]:
    """附议. Idempotent: a second support by the same person changes nothing."""
    with transaction.atomic():
        topic = _lock(topic_id)
        home = require_verified_home(actor, topic)
        if topic.status not in Topic.SUPPORTABLE:
            raise Conflict("supports_closed", "议题已不再接受附议", current=topic.status)
        _require_public(topic)
        _, created = Support.objects.get_or_create(
            topic=topic, user=actor, defaults={"household_key": home.voter_household}
        )
        Follow.objects.get_or_create(topic=topic, user=actor)
        if created:
            _publish(topic, "topic.supported", {"supports": _support_households(topic)})
            _maybe_open_discussion(topic)
    return topic, created


def do_remove_support(*, topic_id: int, actor: User) -> Topic:
    with transaction.atomic():
        topic = _lock(topic_id)
        require_verified_home(actor, topic)
        if topic.status not in Topic.SUPPORTABLE:
            raise Conflict("supports_closed", "议题已不再接受附议", current=topic.status)
        # A topic already in discussion stays there: the threshold opens, it never closes.
        Support.objects.filter(topic=topic, user=actor).delete()
    return topic


def do_follow_topic(*, topic: Topic, actor: User) -> bool:
    with transaction.atomic():
        _, created = Follow.objects.get_or_create(topic=topic, user=actor)
    return created


def do_unfollow_topic(*, topic: Topic, actor: User) -> None:
    Follow.objects.filter(topic=topic, user=actor).delete()


# --- discussion ----------------------------------------------------------------------


def do_add_reply(*, topic_id: int, actor: User, body: str, stance: str = "", official: bool = False) -> Reply:
    """A resident's reply (with a stance) or staff's official reply. The text is checked by WeChat
    before the transaction; it is public (counted, announced, notified) only once it passed."""
    topic = Topic.objects.filter(pk=topic_id).first()
    if topic is None:
        raise NotFound("topic_not_found", "议题不存在")
    # Who may reply is checked before asking WeChat; the lock below re-checks the stage.
    if official:
        if not is_topic_staff(actor, topic):
            raise Forbidden("staff_only", "只有本居委工作人员可以发布官方回复")
    else:
        require_verified_home(actor, topic)
        if not stance:
            raise InvalidInput("stance_required", "请选择立场：赞成、反对或中立", field="stance")
    if topic.status not in Topic.REPLYABLE:
        raise Conflict("discussion_closed", "议题讨论已结束", current=topic.status)
    _require_public(topic)
    check = check_text(user=actor, content=body, scene=SCENE_COMMENT)
    with transaction.atomic():
        topic = _lock(topic_id)
        if topic.status not in Topic.REPLYABLE:
            raise Conflict("discussion_closed", "议题讨论已结束", current=topic.status)
        _require_public(topic)
        reply = Reply.objects.create(
            topic=topic,
            author=actor,
            body=body,
            stance=stance,
            is_official=official,
            content_status=check.status,
            content_trace_id=check.trace_id,
        )
        if reply.content_status == C.PUBLISHED:
            _reply_became_public(topic, reply)
        elif reply.content_status == C.PENDING_CHECK:
            _schedule_recheck()
    return reply


def _reply_became_public(topic: Topic, reply: Reply) -> None:
    _publish(topic, "topic.replied", {"reply_id": reply.pk, "official": reply.is_official})
    if reply.is_official:
        _notify(
            topic,
            title=f"议题「{topic.title[:40]}」有官方回复",
            body=reply.body[:200],
            event_key=f"topic:{topic.pk}:reply:{reply.pk}",
            exclude=reply.author,
        )


# --- ballots ---------------------------------------------------------------------------


def _receipt() -> tuple[str, str]:
    raw = secrets.token_hex(8).upper()
    code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
    return code, hash_receipt(code)


def hash_receipt(code: str) -> str:
    normalized = code.replace("-", "").strip().upper()
    return hashlib.sha256(f"stq-ballot-receipt:{normalized}".encode()).hexdigest()


@dataclass
class CastResult:
    ballot: Ballot
    receipt_code: str
    changed: bool  # an existing ballot was changed (allow_change)


def do_cast_ballot(*, topic_id: int, actor: User, choices: list[str]) -> CastResult:
    """Cast (or, if the vote allows it, change) the caller's ballot.

    One ballot per (topic, voter_key) is the database's unique constraint; the topic lock
    only orders ballots against the close.
    """
    now = timezone.now()
    with transaction.atomic():
        topic = _lock(topic_id)
        home = require_verified_home(actor, topic)
        if topic.status in Topic.PRE_VOTE:
            raise Conflict("voting_not_open", "表决尚未开始", current=topic.status)
        if topic.status != S.VOTING:
            raise Conflict("voting_closed", "表决已截止", current=topic.status)
        vote = topic.vote
        if now < vote.opens_at:
            raise Conflict("voting_not_open", "表决尚未开始", opens_at=vote.opens_at.isoformat())
        if now >= vote.closes_at:
            raise Conflict("voting_closed", "表决已截止", closes_at=vote.closes_at.isoformat())
        if vote.pass_rule == Vote.PassRule.CIVIL_CODE and not home.is_owner:
            raise Forbidden("not_owner", "本表决按民法典规则进行，仅限登记的业主投票")
        rules.validate_choices(vote, choices)
        voter_key = _voter_key(vote, home)
        code, receipt_hash = _receipt()
        existing = Ballot.objects.filter(topic=topic, voter_key=voter_key).first()
        if existing is not None:
            if not vote.allow_change or existing.user_id != actor.pk:
                raise Conflict("already_voted", "您（或您家）已经投过票", household=vote.unit == Vote.Unit.HOUSEHOLD)
            old = list(existing.marks.order_by("option").values_list("option", flat=True))
            BallotRevision.objects.create(ballot=existing, choices=old, receipt_hash=existing.receipt_hash)
            existing.marks.all().delete()
            existing.receipt_hash = receipt_hash
            existing.save(update_fields=["receipt_hash", "updated_at"])
            ballot, changed = existing, True
        else:
            try:
                with transaction.atomic():
                    ballot = Ballot.objects.create(
                        topic=topic,
                        user=actor,
                        voter_key=voter_key,
                        is_owner=home.is_owner,
                        floor_area=home.floor_area if home.is_owner else Decimal(0),
                        receipt_hash=receipt_hash,
                    )
            except IntegrityError:
                raise Conflict(
                    "already_voted", "您（或您家）已经投过票", household=vote.unit == Vote.Unit.HOUSEHOLD
                ) from None
            changed = False
        BallotMark.objects.bulk_create([BallotMark(ballot=ballot, topic=topic, option=c) for c in choices])
        Follow.objects.get_or_create(topic=topic, user=actor)
    return CastResult(ballot=ballot, receipt_code=code, changed=changed)


def _voter_key(vote: Vote, home: Home) -> str:
    if vote.unit == Vote.Unit.HOUSEHOLD:
        return home.voter_household
    return f"u:{home.user_id}"


def _scope_memberships(topic: Topic):
    qs = Membership.objects.filter(neighborhood_id=topic.neighborhood_id, status=Membership.Status.APPROVED)
    if topic.building_group_id:
        qs = qs.filter(building_group_id=topic.building_group_id)
    return qs


def _eligible_owners(topic: Topic) -> tuple[int, Decimal]:
    """Owner households in scope and their floor area (co-owners of one unit count once)."""
    area_by_household: dict[str, Decimal] = {}
    for user_id, hk, area in (
        _scope_memberships(topic).filter(is_owner=True).values_list("user_id", "household_key", "floor_area")
    ):
        key = f"h:{hk}" if hk else f"u:{user_id}"
        area_by_household[key] = max(area_by_household.get(key, Decimal(0)), area or Decimal(0))
    return len(area_by_household), sum(area_by_household.values(), Decimal(0))


def _eligible_voters(topic: Topic, vote: Vote) -> int:
    rows = _scope_memberships(topic).values_list("user_id", "household_key")
    if vote.unit == Vote.Unit.HOUSEHOLD:
        return len({f"h:{hk}" if hk else f"u:{uid}" for uid, hk in rows})
    return len({uid for uid, _ in rows})


def compute_tally(topic: Topic, vote: Vote) -> rules.TallyInput:
    """COUNT over ballot rows, now. Used at the close; the Decision stores the result."""
    options = {o["key"]: rules.Count() for o in vote.options}
    for row in (
        BallotMark.objects.filter(topic=topic)
        .values("option")
        .annotate(
            n=Count("id"),
            owners=Count("id", filter=Q(ballot__is_owner=True)),
            area=Sum("ballot__floor_area", filter=Q(ballot__is_owner=True)),
        )
    ):
        options[row["option"]] = rules.Count(row["n"], row["owners"], row["area"] or Decimal(0))
    totals = Ballot.objects.filter(topic=topic).aggregate(
        n=Count("id"),
        owners=Count("id", filter=Q(is_owner=True)),
        area=Sum("floor_area", filter=Q(is_owner=True)),
    )
    owners, area = _eligible_owners(topic)
    return rules.TallyInput(
        options=options,
        ballots_cast=totals["n"],
        owner_ballots=totals["owners"],
        owner_area=totals["area"] or Decimal(0),
        eligible_voters=_eligible_voters(topic, vote),
        eligible_owners=owners,
        eligible_area=area,
    )


def do_close_vote(
    *, topic_id: int, actor: User | None, note: str = "", expected_from: str | None = None, only_if_due: bool = False
) -> Topic:
    """voting → decided. With actor=None (the deadline task) only when closes_at has passed."""
    with transaction.atomic():
        topic = _lock(topic_id)
        if actor is not None:
            _check_actor(topic, actor, S.DECIDED)
        if (expected_from and topic.status != expected_from) or not topic.can_move_to(S.DECIDED):
            raise _state_changed(topic)
        vote = topic.vote
        if only_if_due and timezone.now() < vote.closes_at:
            raise Conflict("vote_not_due", "表决尚未到截止时间", closes_at=vote.closes_at.isoformat())
        tally = compute_tally(topic, vote)
        result = rules.decide(vote, tally)
        outcome = Topic.Outcome.PASSED if result.passed else Topic.Outcome.NOT_PASSED
        Decision.objects.create(
            topic=topic,
            outcome=outcome,
            rule=vote.pass_rule,
            tally={
                key: {"ballots": c.ballots, "owners": c.owners, "area": str(c.area)} for key, c in tally.options.items()
            },
            figures=result.figures,
            winning_option=result.winning_option,
            decided_by=actor,
        )
        topic.outcome = outcome
        label = Topic.Outcome(outcome).label
        _move(topic, S.DECIDED, actor=actor, note=note or f"表决结束：{label}（{tally.ballots_cast} 票）")
        publish_on_commit(
            f"neighborhood.{topic.neighborhood_id}",
            "topic.decided",
            {"topic_id": topic.pk, "outcome": outcome, "building_group_id": topic.building_group_id},
        )
    return topic


def due_vote_topic_ids(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(Topic.objects.filter(status=S.VOTING, vote__closes_at__lte=now).values_list("id", flat=True))


# --- implementation --------------------------------------------------------------------

MILESTONE_FIELDS = ("title", "due_date", "status", "progress", "responsible_party", "note")


def _milestone_audit(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def do_add_milestone(
    *,
    topic_id: int,
    actor: User,
    title: str,
    due_date: date | None = None,
    status: str = Milestone.Status.PLANNED,
    progress: int = 0,
    responsible_party: str = "",
    note: str = "",
    image_ids: list[int] | None = None,
) -> Milestone:
    """Staff add a milestone, with site photos they uploaded themselves."""
    image_ids = validate_image_ids(actor, list(image_ids or []), limit=MAX_MILESTONE_PHOTOS)
    with transaction.atomic():
        topic = _lock(topic_id)
        _check_actor(topic, actor, S.IMPLEMENTING)
        if topic.status != S.IMPLEMENTING:
            raise Conflict("topic_not_implementing", "议题不在实施阶段", current=topic.status)
        if status == Milestone.Status.DONE:
            progress = 100
        milestone = Milestone.objects.create(
            topic=topic,
            title=title,
            due_date=due_date,
            status=status,
            progress=progress,
            responsible_party=responsible_party,
            note=note,
            created_by=actor,
        )
        _attach_photos(milestone, image_ids)
        changes = {f: _milestone_audit(getattr(milestone, f)) for f in MILESTONE_FIELDS}
        if image_ids:
            changes["photos"] = image_ids
        _milestone_updated(topic, milestone, actor, changes, created=True)
    return milestone


def _attach_photos(milestone: Milestone, image_ids: list[int]) -> None:
    MilestonePhoto.objects.filter(milestone=milestone).delete()
    MilestonePhoto.objects.bulk_create(
        [MilestonePhoto(milestone=milestone, image_id=image_id, position=i) for i, image_id in enumerate(image_ids)]
    )


def do_update_milestone(*, topic_id: int, milestone_id: int, actor: User, changes: dict[str, Any]) -> Milestone:
    """Change fields of a milestone; `changes["image_ids"]` replaces its photos (the actor's uploads)."""
    changes = dict(changes)
    image_ids = changes.pop("image_ids", None)
    if image_ids is not None:
        image_ids = validate_image_ids(actor, list(image_ids), limit=MAX_MILESTONE_PHOTOS)
    with transaction.atomic():
        topic = _lock(topic_id)
        _check_actor(topic, actor, S.IMPLEMENTING)
        try:
            milestone = Milestone.objects.select_for_update().get(pk=milestone_id, topic=topic)
        except Milestone.DoesNotExist:
            raise NotFound("milestone_not_found", "实施节点不存在") from None
        if topic.status != S.IMPLEMENTING:
            raise Conflict("topic_not_implementing", "议题不在实施阶段", current=topic.status)
        if changes.get("status") == Milestone.Status.DONE:
            changes["progress"] = 100
        diff = {}
        for name, value in changes.items():
            if name in MILESTONE_FIELDS and getattr(milestone, name) != value:
                diff[name] = {"from": _milestone_audit(getattr(milestone, name)), "to": _milestone_audit(value)}
                setattr(milestone, name, value)
        if image_ids is not None:
            before = list(MilestonePhoto.objects.filter(milestone=milestone).values_list("image_id", flat=True))
            if before != image_ids:
                diff["photos"] = {"from": before, "to": image_ids}
                _attach_photos(milestone, image_ids)
        if diff:
            milestone.save()
            _milestone_updated(topic, milestone, actor, diff, created=False)
    return milestone


def _milestone_updated(topic: Topic, milestone: Milestone, actor: User, changes: dict, *, created: bool) -> None:
    update = MilestoneUpdate.objects.create(milestone=milestone, actor=actor, changes=changes)
    progress = topic_progress(topic)
    _publish(topic, "topic.milestone_updated", {"milestone_id": milestone.pk, "progress": progress})
    verb = "新增实施节点" if created else "实施节点更新"
    _notify(
        topic,
        title=f"议题「{topic.title[:40]}」{verb}",
        body=f"{milestone.title}：{milestone.get_status_display()} {milestone.progress}%（总体进度 {progress}%）",
        event_key=f"topic:{topic.pk}:milestone_update:{update.pk}",
        exclude=actor,
    )


def topic_progress(topic: Topic) -> int:
    avg = Milestone.objects.filter(topic=topic).aggregate(p=Avg("progress"))["p"]
    return round(avg) if avg is not None else 0


# --- evaluation ------------------------------------------------------------------------


def do_add_evaluation(*, topic_id: int, actor: User, rating: int, comment: str = "") -> Evaluation:
    with transaction.atomic():
        topic = _lock(topic_id)
        require_verified_home(actor, topic)
        if topic.status != S.EVALUATING:
            raise Conflict("evaluation_closed", "议题不在效果评估阶段", current=topic.status)
        if topic.evaluation_closes_at and timezone.now() >= topic.evaluation_closes_at:
            raise Conflict("evaluation_closed", "效果评估已截止", current=topic.status)
        try:
            with transaction.atomic():
                evaluation = Evaluation.objects.create(topic=topic, user=actor, rating=rating, comment=comment)
        except IntegrityError:
            raise Conflict("already_evaluated", "您已经评价过") from None
    return evaluation


def evaluation_summary(topic: Topic) -> dict[str, Any]:
    agg = Evaluation.objects.filter(topic=topic).aggregate(
        count=Count("id"), average=Avg("rating"), **{f"r{i}": Count("id", filter=Q(rating=i)) for i in range(1, 6)}
    )
    average = agg["average"]
    return {
        "count": agg["count"],
        "average": str(Decimal(str(average)).quantize(Decimal("0.01"))) if average is not None else None,
        "distribution": {str(i): agg[f"r{i}"] for i in range(1, 6)},
    }


# --- edits and moderation ----------------------------------------------------------------


def do_edit_topic(
    *,
    topic_id: int,
    actor: User,
    title: str | None = None,
    body: str | None = None,
    image_ids: list[int] | None = None,
) -> Topic:
    """The author edits a proposed topic within the edit window. Changed text is checked again
    (a held topic stays held); the text before is kept in the content log."""
    current = Topic.objects.filter(pk=topic_id).first()
    if current is None:
        raise NotFound("topic_not_found", "议题不存在")
    if current.author_id != actor.pk:
        raise Forbidden("author_only", "只有提议人可以修改议题")
    new_title = current.title if title is None else title
    new_body = current.body if body is None else body
    if image_ids is not None:
        image_ids = validate_image_ids(actor, list(image_ids), limit=MAX_TOPIC_IMAGES)
    text_changed = (new_title, new_body) != (current.title, current.body)
    check = check_text(user=actor, content=new_body, title=new_title, scene=SCENE_FORUM) if text_changed else None
    with transaction.atomic():
        topic = _lock(topic_id)
        if not topic.can_edit(actor):
            raise Conflict(
                "topic_not_editable",
                "议题已进入讨论、已超过可修改时间或已被隐藏",
                current=topic.status,
                content_status=topic.content_status,
            )
        _log(topic, actor=actor, action=TopicContentLog.Action.EDIT, snapshot=_snapshot_topic(topic))
        was_public = topic.is_public
        topic.title, topic.body, topic.edited_at = new_title, new_body, timezone.now()
        if check is not None:
            topic.content_trace_id = check.trace_id
            # A topic staff hold for review stays held; otherwise the new text's verdict decides.
            if topic.content_status != C.PENDING_REVIEW:
                topic.content_status = check.status
        if image_ids is not None:
            _attach_images(topic, image_ids)
        topic.save(update_fields=["title", "body", "edited_at", "content_status", "content_trace_id"])
        if topic.is_public:
            _publish(topic, "topic.updated" if was_public else "topic.created", {})
        elif was_public:
            _publish(topic, "topic.hidden", {"reason": "edited_pending_check"})
        if topic.content_status == C.PENDING_CHECK:
            _schedule_recheck()
    return topic


MODERATION_ACTIONS = ("hide", "restore", "remove")
_MODERATION_TARGET = {"hide": C.HIDDEN, "restore": C.PUBLISHED, "remove": C.REMOVED}


def do_moderate_topic(*, topic_id: int, actor: User, action: str, reason: str = "") -> Topic:
    """Staff hide, restore (also: approve a held topic) or remove a topic's text.

    Hiding or removing is for topics not yet put to the vote: a vote in progress is never
    pulled from under its voters. Two staff at once: the second gets 409."""
    if action not in MODERATION_ACTIONS:
        raise InvalidInput("invalid_action", "操作无效", field="action")
    with transaction.atomic():
        topic = _lock(topic_id)
        if not is_topic_staff(actor, topic):
            raise Forbidden("staff_only", "仅限本居委工作人员操作")
        target = _MODERATION_TARGET[action]
        if target not in CONTENT_TRANSITIONS[topic.content_status]:
            raise Conflict("content_state_changed", "内容状态已变化，请刷新", current=topic.content_status)
        if action != "restore" and topic.status not in Topic.PRE_VOTE:
            raise Conflict("topic_in_vote", "议题已进入表决，不能隐藏或删除", current=topic.status)
        _log(topic, actor=actor, action=action, reason=reason, snapshot=_snapshot_topic(topic))
        was_public = topic.is_public
        topic.content_status, topic.hidden_by_reports = target, False
        topic.save(update_fields=["content_status", "hidden_by_reports"])
        if action in ("restore", "remove"):
            # Reviewed: these reports are settled; new ones count afresh.
            TopicReport.objects.filter(topic=topic, reply__isnull=True, status=TopicReport.Status.OPEN).update(
                status=TopicReport.Status.RESOLVED
            )
        if was_public and not topic.is_public:
            _publish(topic, "topic.hidden", {"reason": action})
        elif topic.is_public and not was_public:
            _publish(topic, "topic.created", {"category": topic.category})
        if topic.is_public and not was_public:
            _maybe_open_discussion(topic)
    return topic


def do_moderate_reply(*, topic_id: int, reply_id: int, actor: User, action: str, reason: str = "") -> Reply:
    """Staff hide, restore (also: approve a held reply) or remove a reply, with a log row."""
    if action not in MODERATION_ACTIONS:
        raise InvalidInput("invalid_action", "操作无效", field="action")
    with transaction.atomic():
        topic = _lock(topic_id)
        if not is_topic_staff(actor, topic):
            raise Forbidden("staff_only", "仅限本居委工作人员操作")
        reply = Reply.objects.select_for_update().filter(pk=reply_id, topic=topic).first()
        if reply is None:
            raise NotFound("reply_not_found", "发言不存在")
        target = _MODERATION_TARGET[action]
        if not reply.can_move_to(target):
            raise Conflict("content_state_changed", "内容状态已变化，请刷新", current=reply.content_status)
        _log(topic, actor=actor, action=action, reason=reason, reply=reply, snapshot=_snapshot_reply(reply))
        was_public = reply.content_status == C.PUBLISHED
        reply.content_status, reply.hidden_by_reports = target, False
        reply.save(update_fields=["content_status", "hidden_by_reports"])
        if action in ("restore", "remove"):
            TopicReport.objects.filter(reply=reply, status=TopicReport.Status.OPEN).update(
                status=TopicReport.Status.RESOLVED
            )
        if was_public and target != C.PUBLISHED:
            _publish(topic, "topic.reply_hidden", {"reply_id": reply.pk, "reason": action})
        elif target == C.PUBLISHED and not was_public:
            _reply_became_public(topic, reply)
    return reply


# --- late content checks (WeChat was unreachable when the text was written) ------------------


def _apply_late_verdict(item: Topic | Reply, check: TextCheck | None) -> str:
    """Under the topic lock, move an item still pending_check to what the verdict says (None = risky)."""
    topic_id = item.pk if isinstance(item, Topic) else item.topic_id
    with transaction.atomic():
        topic = _lock(topic_id)
        locked: Topic | Reply = topic if isinstance(item, Topic) else Reply.objects.select_for_update().get(pk=item.pk)
        if locked.content_status != C.PENDING_CHECK:
            return "skipped"  # moderated or edited meanwhile
        reply = locked if isinstance(locked, Reply) else None
        snapshot = _snapshot_reply(reply) if reply else _snapshot_topic(topic)
        if check is None:
            locked.content_status = C.REMOVED
            locked.save(update_fields=["content_status"])
            _log(
                topic,
                actor=None,
                action=TopicContentLog.Action.CONTENT_CHECK,
                reason="内容安全检测未通过",
                reply=reply,
                snapshot=snapshot,
            )
            return "removed"
        locked.content_status, locked.content_trace_id = check.status, check.trace_id
        locked.save(update_fields=["content_status", "content_trace_id"])
        if check.status != C.PUBLISHED:
            return "review"
        if reply is not None:
            _reply_became_public(topic, reply)
        else:
            _publish(topic, "topic.created", {"category": topic.category})
            _maybe_open_discussion(topic)
        return "published"


def recheck_pending(*, limit: int = 100) -> dict[str, int]:
    """Check again the topics and replies saved while WeChat was unreachable; never public before
    (moderation's shared sweep, limited to 议事's kinds; `_apply_late_verdict` is their apply)."""
    return recheck.recheck_pending(names=("deliberation.topic", "deliberation.reply"), limit=limit)
