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
    Ballot,
    BallotMark,
    BallotRevision,
    Decision,
    Evaluation,
    Follow,
    Milestone,
    MilestoneUpdate,
    Reply,
    Support,
    Topic,
    TopicEvent,
    Vote,
)
from notifications.actions import do_notify
from notifications.realtime import publish_on_commit
from residents.access import profile
from residents.models import Membership, Region, User

S = Topic.Status
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
            data={"topic_id": topic.pk, "status": topic.status},
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
    if topic.status != S.PROPOSED:
        return
    threshold = rules.support_threshold(topic)
    households = _support_households(topic)
    if households >= threshold:
        _move(topic, S.DISCUSSING, actor=None, note=f"附议达到 {households} 户（门槛 {threshold} 户），自动进入讨论")


# --- topics --------------------------------------------------------------------------


def do_create_topic(
    *,
    actor: User,
    neighborhood_id: int,
    building_group_id: int | None,
    category: str,
    title: str,
    body: str,
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
    with transaction.atomic():
        topic = Topic.objects.create(
            neighborhood=neighborhood, building_group=group, category=category, title=title, body=body, author=actor
        )
        Follow.objects.create(topic=topic, user=actor)
        TopicEvent.objects.create(topic=topic, actor=actor, from_status="", to_status=S.PROPOSED, note="提出议题")
        _publish(topic, "topic.created", {"category": category})
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
) -> Topic:
    """Move a topic along Topic.TRANSITIONS. Raises Conflict (409) if it moved first."""
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
            topic.evaluation_closes_at = closes
        elif to == S.CLOSED and topic.status == S.EVALUATING:
            topic.evaluation_summary = evaluation_summary(topic)
        _move(topic, to, actor=actor, note=note or summary[:200])
    return topic


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
        if target.status not in Topic.PRE_VOTE:
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
    with transaction.atomic():
        topic = _lock(topic_id)
        if official:
            if not is_topic_staff(actor, topic):
                raise Forbidden("staff_only", "只有本居委工作人员可以发布官方回复")
        else:
            require_verified_home(actor, topic)
            if not stance:
                raise InvalidInput("stance_required", "请选择立场：赞成、反对或中立", field="stance")
        if topic.status not in Topic.REPLYABLE:
            raise Conflict("discussion_closed", "议题讨论已结束", current=topic.status)
        reply = Reply.objects.create(topic=topic, author=actor, body=body, stance=stance, is_official=official)
        _publish(topic, "topic.replied", {"reply_id": reply.pk, "official": official})
        if official:
            _notify(
                topic,
                title=f"议题「{topic.title[:40]}」有官方回复",
                body=body[:200],
                event_key=f"topic:{topic.pk}:reply:{reply.pk}",
                exclude=actor,
            )
    return reply


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
) -> Milestone:
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
        changes = {f: _milestone_audit(getattr(milestone, f)) for f in MILESTONE_FIELDS}
        _milestone_updated(topic, milestone, actor, changes, created=True)
    return milestone


def do_update_milestone(*, topic_id: int, milestone_id: int, actor: User, changes: dict[str, Any]) -> Milestone:
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
