"""Ballots, the tally and closing the vote. Locking the topic for every ballot serializes a
topic's ballots against its close: a ballot either commits before the close counts, or sees
`decided` and is refused."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.errors import Conflict, Forbidden
from deliberation import rules
from deliberation.access import Home, require_verified_home
from deliberation.actions.common import S, check_actor, lock_topic, state_changed
from deliberation.actions.moves import move_topic
from deliberation.models import Ballot, BallotMark, BallotRevision, Decision, Follow, Topic, Vote
from notifications.realtime import publish_on_commit
from residents.models import Membership, User


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
        topic = lock_topic(topic_id)
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


def eligible_owners(topic: Topic) -> tuple[int, Decimal]:
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
    owners, area = eligible_owners(topic)
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
        topic = lock_topic(topic_id)
        if actor is not None:
            check_actor(topic, actor, S.DECIDED)
        if (expected_from and topic.status != expected_from) or not topic.can_move_to(S.DECIDED):
            raise state_changed(topic)
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
        move_topic(topic, S.DECIDED, actor=actor, note=note or f"表决结束：{label}（{tally.ballots_cast} 票）")
        publish_on_commit(
            f"neighborhood.{topic.neighborhood_id}",
            "topic.decided",
            {"topic_id": topic.pk, "outcome": outcome, "building_group_id": topic.building_group_id},
        )
    return topic


def due_vote_topic_ids(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(Topic.objects.filter(status=S.VOTING, vote__closes_at__lte=now).values_list("id", flat=True))
