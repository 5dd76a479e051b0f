"""议事: topics in every stage, supports, replies, votes with ballots, decisions, milestones, evaluations."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools

from deliberation.models import Ballot, BallotMark, Decision, Evaluation, Milestone, Reply, Support, Topic, Vote

from . import World, rng_for
from .loader import Loader

S = Topic.Status
STAGES = [
    (S.PROPOSED, 0.12),
    (S.DISCUSSING, 0.1),
    (S.VOTING, 0.08),
    (S.DECIDED, 0.15),
    (S.IMPLEMENTING, 0.12),
    (S.EVALUATING, 0.08),
    (S.CLOSED, 0.3),
    (S.WITHDRAWN, 0.03),
    (S.MERGED, 0.02),
]
VOTED = (S.VOTING, S.DECIDED, S.IMPLEMENTING, S.EVALUATING, S.CLOSED)
TITLES = [
    "加装电梯方案",
    "非机动车棚改造",
    "小区停车收费调整",
    "垃圾箱房搬迁",
    "绿化带改为停车位",
    "楼道灯更换",
    "公共维修资金使用",
    "健身步道修建",
]


def make_deliberation(loader: Loader, world: World) -> None:
    r = rng_for(world.seed, "deliberation")
    scale = world.scale
    nbs = world.neighborhood_ids
    cum = list(itertools.accumulate(world.activity))
    stage_values = [s for s, _ in STAGES]
    stage_cum = list(itertools.accumulate(w for _, w in STAGES))
    start, span = world.start(), (world.now - world.start()).total_seconds()
    topics, votes, decisions, milestones, evaluations, supports, replies = [], [], [], [], [], [], []
    voted: list[tuple[int, int, dt.datetime]] = []  # (topic, neighborhood, opens_at)
    for tid in range(1, scale.topics + 1):
        nb = nbs[min(len(nbs) - 1, bisect.bisect_left(cum, r.random() * cum[-1]))]
        members = world.residents_of[nb]
        if not members:
            continue
        status = stage_values[bisect.bisect_left(stage_cum, r.random() * stage_cum[-1])]
        created = start + dt.timedelta(seconds=span * (tid - 1 + r.random()) / scale.topics)
        if status in (S.PROPOSED, S.DISCUSSING, S.VOTING):
            created = world.now - dt.timedelta(days=r.uniform(1, 20))
        outcome = ""
        if status in (S.DECIDED, S.IMPLEMENTING, S.EVALUATING, S.CLOSED):
            outcome = Topic.Outcome.PASSED if status != S.DECIDED or r.random() < 0.7 else Topic.Outcome.NOT_PASSED
        category = r.choice(list(Topic.Category.values))
        topics.append(
            (
                tid,
                nb,
                category,
                r.choice(TITLES),
                "请大家发表意见。",
                r.choice(members),
                status,
                outcome,
                created,
                created,
            )
        )
        for k in range(r.randint(3, 12)):
            supports.append(
                (
                    len(supports) + 1,
                    tid,
                    members[(tid * 7 + k * 13) % len(members)],
                    f"u:{members[(tid * 7 + k * 13) % len(members)]}",
                    created,
                )
            )
        for k in range(r.randint(0, 8)):
            replies.append(
                (
                    len(replies) + 1,
                    tid,
                    r.choice(members),
                    r.choice(list(Reply.Stance.values)),
                    False,
                    "我的看法是……",
                    created + dt.timedelta(hours=k + 1),
                )
            )
        if status in VOTED:
            opens = created + dt.timedelta(days=7)
            closes = opens + dt.timedelta(days=7)
            votes.append(
                (
                    tid,
                    tid,
                    Vote.Kind.YES_NO_ABSTAIN,
                    Vote.YES_NO_OPTIONS,
                    1,
                    Vote.Unit.PERSON,
                    opens,
                    closes,
                    0,
                    Vote.PassRule.SIMPLE_MAJORITY,
                )
            )
            voted.append((tid, nb, opens))
            if status != S.VOTING:
                decisions.append(
                    (
                        tid,
                        tid,
                        outcome,
                        Vote.PassRule.SIMPLE_MAJORITY,
                        {},
                        {},
                        "yes" if outcome == Topic.Outcome.PASSED else "",
                        closes,
                    )
                )
        if status in (S.IMPLEMENTING, S.EVALUATING, S.CLOSED) and outcome == Topic.Outcome.PASSED:
            staff = world.staff_of[nb][0]
            milestones.append(
                (
                    len(milestones) + 1,
                    tid,
                    "方案确定",
                    Milestone.Status.DONE if status != S.IMPLEMENTING else Milestone.Status.IN_PROGRESS,
                    100 if status != S.IMPLEMENTING else 50,
                    staff,
                    created,
                )
            )
            if status in (S.EVALUATING, S.CLOSED):
                for k in range(r.randint(1, 10)):
                    evaluations.append(
                        (
                            len(evaluations) + 1,
                            tid,
                            members[(tid + k * 31) % len(members)],
                            r.randint(3, 5),
                            "",
                            created,
                        )
                    )
    loader.load(
        Topic,
        [
            "id",
            "neighborhood",
            "category",
            "title",
            "body",
            "author",
            "status",
            "outcome",
            "created_at",
            "status_changed_at",
        ],
        topics,
        total=len(topics),
        label="topics",
    )
    loader.load(
        Support,
        ["id", "topic", "user", "household_key", "created_at"],
        _unique(supports, (1, 2)),
        total=len(supports),
        label="supports",
    )
    loader.load(
        Reply,
        ["id", "topic", "author", "stance", "is_official", "body", "created_at"],
        replies,
        total=len(replies),
        label="replies",
    )
    loader.load(
        Vote,
        [
            "id",
            "topic",
            "kind",
            "options",
            "max_choices",
            "unit",
            "opens_at",
            "closes_at",
            "quorum_percent",
            "pass_rule",
        ],
        votes,
        total=len(votes),
        label="votes",
    )
    loader.load(
        Decision,
        ["id", "topic", "outcome", "rule", "tally", "figures", "winning_option", "decided_at"],
        decisions,
        total=len(decisions),
        label="decisions",
    )
    loader.load(
        Milestone,
        ["id", "topic", "title", "status", "progress", "created_by", "created_at"],
        milestones,
        total=len(milestones),
        label="milestones",
    )
    loader.load(
        Evaluation,
        ["id", "topic", "user", "rating", "comment", "created_at"],
        _unique(evaluations, (1, 2)),
        total=len(evaluations),
        label="evaluations",
    )

    # Ballots: spread over the voted topics by their neighborhood's size, one per voter.
    per_topic = _split(scale.ballots, [len(world.residents_of[nb]) for _, nb, _ in voted])
    n_ballots = sum(min(n, len(world.residents_of[nb])) for n, (_, nb, _) in zip(per_topic, voted, strict=True))

    def ballots_and_marks():
        bid = 0
        for n, (tid, nb, opens) in zip(per_topic, voted, strict=True):
            members = world.residents_of[nb]
            for user in r.sample(members, min(n, len(members))):
                bid += 1
                choice = "yes" if r.random() < 0.65 else ("no" if r.random() < 0.7 else "abstain")
                cast = opens + dt.timedelta(seconds=r.random() * 6 * 86400)
                receipt = hashlib.sha256(f"{world.seed}:{bid}".encode()).hexdigest()
                yield (bid, tid, user, f"u:{user}", False, 0, receipt, cast, cast), choice

    marks: list[tuple] = []

    def ballots():
        for row, choice in ballots_and_marks():
            marks.append((row[0], row[0], row[1], choice))
            yield row

    loader.load(
        Ballot,
        ["id", "topic", "user", "voter_key", "is_owner", "floor_area", "receipt_hash", "created_at", "updated_at"],
        ballots(),
        total=n_ballots,
        label="ballots",
    )
    loader.load(BallotMark, ["id", "ballot", "topic", "option"], marks, total=len(marks), label="ballot marks")
    world.counts.update(topics=len(topics), ballots=len(marks), supports=len(supports), votes=len(votes))


def _unique(rows, key_cols):
    seen = set()
    for row in rows:
        key = tuple(row[i] for i in key_cols)
        if key in seen:
            continue
        seen.add(key)
        yield row


def _split(total: int, weights: list[int]) -> list[int]:
    s = sum(weights) or 1
    return [int(total * w / s) for w in weights]
