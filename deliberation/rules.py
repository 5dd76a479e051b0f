"""The arithmetic of deliberation: support thresholds, vote-rule checks, and pass rules.

Pure functions over numbers the actions fetch, so each rule can be read (and tested)
on its own. Comparisons are done in integers/Decimals, never floats: "at least two
thirds" is `3 * part >= 2 * whole`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.errors import InvalidInput
from deliberation.models import Topic, Vote

DEFAULT_SUPPORT_HOUSEHOLDS = 10
# The shortest evaluation window staff may announce: a topic closes only once its window has
# run (Topic.can_close_evaluation), and a week lets residents who walk past the result rate it.
MIN_EVALUATION_DAYS = 7


def support_threshold(topic: Topic) -> int:
    """Households whose support moves a proposal to discussion.

    Region.settings (the building group's override the neighborhood's):
    `topic_support_threshold` (households) wins over `topic_support_percent` (of the
    scope's households); the default is 10 households, or all of them if fewer.
    """
    merged: dict[str, Any] = dict(topic.neighborhood.settings or {})
    scope = topic.building_group or topic.neighborhood
    if topic.building_group is not None:
        merged.update(topic.building_group.settings or {})
    households = scope.households or topic.neighborhood.households
    if merged.get("topic_support_threshold") is not None:
        return max(1, int(merged["topic_support_threshold"]))
    if merged.get("topic_support_percent") is not None:
        return max(1, math.ceil(households * Decimal(str(merged["topic_support_percent"])) / 100))
    if households:
        return max(1, min(DEFAULT_SUPPORT_HOUSEHOLDS, households))
    return DEFAULT_SUPPORT_HOUSEHOLDS


def _impossible(message: str, **detail: Any) -> InvalidInput:
    return InvalidInput("vote_rule_impossible", message, **detail)


def normalize_vote_rules(rules: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Check a vote's rules can be met and return the Vote fields. Raises 400 `vote_rule_impossible`."""
    kind = rules["kind"]
    pass_rule = rules["pass_rule"]
    opens_at = rules.get("opens_at") or now
    closes_at = rules["closes_at"]
    quorum = Decimal(str(rules.get("quorum_percent") or 0))
    if quorum < 0 or quorum > 100:
        raise _impossible("最低参与率须在 0% 到 100% 之间", field="quorum_percent")
    if closes_at <= opens_at:
        raise _impossible("截止时间须晚于开始时间", field="closes_at")
    if closes_at <= now:
        raise _impossible("截止时间已过", field="closes_at")
    unit = rules.get("unit") or Vote.Unit.PERSON
    max_choices = 1
    if kind == Vote.Kind.YES_NO_ABSTAIN:
        options = Vote.YES_NO_OPTIONS
    else:
        labels = [str(label).strip() for label in rules.get("options") or []]
        if len(labels) < 2 or any(not label for label in labels):
            raise _impossible("单选或多选表决至少需要两个非空选项", field="options")
        if len(set(labels)) != len(labels):
            raise _impossible("选项不能重复", field="options")
        options = [{"key": str(i + 1), "label": label} for i, label in enumerate(labels)]
        if kind == Vote.Kind.APPROVAL:
            raw = rules.get("max_choices")
            max_choices = 1 if raw is None else int(raw)
            if max_choices < 1 or max_choices > len(options):
                raise _impossible("最多可选项数须在 1 到选项数之间", field="max_choices")
    if pass_rule == Vote.PassRule.CIVIL_CODE:
        if kind != Vote.Kind.YES_NO_ABSTAIN:
            raise _impossible("民法典规则只适用于赞成/反对/弃权表决", field="pass_rule")
        # Owners vote per unit (专有部分): one ballot per household.
        unit = Vote.Unit.HOUSEHOLD
    if rules.get("is_major_matter") and pass_rule != Vote.PassRule.CIVIL_CODE:
        raise _impossible("重大事项（双四分之三）只适用于民法典规则", field="is_major_matter")
    return {
        "kind": kind,
        "options": options,
        "max_choices": max_choices,
        "unit": unit,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "quorum_percent": quorum,
        "pass_rule": pass_rule,
        "is_major_matter": bool(rules.get("is_major_matter")),
        "allow_change": bool(rules.get("allow_change")),
    }


def validate_choices(vote: Vote, choices: list[str]) -> list[str]:
    keys = vote.option_keys()
    if not choices:
        raise InvalidInput("invalid_choice", "请选择一个选项", field="choices")
    if len(set(choices)) != len(choices):
        raise InvalidInput("invalid_choice", "选项不能重复", field="choices")
    unknown = [c for c in choices if c not in keys]
    if unknown:
        raise InvalidInput("invalid_choice", "选项不存在", field="choices", unknown=unknown, allowed=keys)
    limit = vote.max_choices if vote.kind == Vote.Kind.APPROVAL else 1
    if len(choices) > limit:
        raise InvalidInput("invalid_choice", f"最多可选 {limit} 项", field="choices", max_choices=limit)
    return choices


@dataclass
class Count:
    ballots: int = 0  # ballots (voters) marking this option
    owners: int = 0  # of which cast by owners
    area: Decimal = Decimal(0)  # their floor area


@dataclass
class TallyInput:
    options: dict[str, Count]
    ballots_cast: int
    owner_ballots: int
    owner_area: Decimal
    eligible_voters: int
    eligible_owners: int
    eligible_area: Decimal


@dataclass
class Result:
    passed: bool
    winning_option: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


def _pct(part: Decimal | int, whole: Decimal | int) -> str:
    if not whole:
        return "0.00"
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01")))


def decide(vote: Vote, t: TallyInput) -> Result:
    quorum_base = t.eligible_owners if vote.pass_rule == Vote.PassRule.CIVIL_CODE else t.eligible_voters
    quorum_met = t.ballots_cast > 0 and t.ballots_cast * 100 >= vote.quorum_percent * quorum_base
    figures: dict[str, Any] = {
        "ballots_cast": t.ballots_cast,
        "eligible_voters": quorum_base,
        "turnout_percent": _pct(t.ballots_cast, quorum_base),
        "quorum_percent": str(vote.quorum_percent),
        "quorum_met": quorum_met,
    }
    if vote.pass_rule == Vote.PassRule.CIVIL_CODE:
        return _civil_code(vote, t, figures, quorum_met)
    if vote.kind == Vote.Kind.YES_NO_ABSTAIN:
        yes = t.options.get(Vote.YES, Count()).ballots
        no = t.options.get(Vote.NO, Count()).ballots
        # Abstentions count for turnout and quorum but not in the majority's denominator.
        base = yes + no
        if vote.pass_rule == Vote.PassRule.TWO_THIRDS:
            agreed = base > 0 and 3 * yes >= 2 * base
        else:
            agreed = 2 * yes > base
        figures.update({"yes": yes, "no": no, "majority_base": base, "yes_percent": _pct(yes, base)})
        return Result(passed=quorum_met and agreed, winning_option=Vote.YES if agreed else "", figures=figures)
    # single choice / approval: the one leading option needs the rule's share of ballots cast.
    ranked = sorted(((c.ballots, key) for key, c in t.options.items()), reverse=True)
    lead, leader = ranked[0] if ranked else (0, "")
    tied = len(ranked) > 1 and ranked[1][0] == lead
    if vote.pass_rule == Vote.PassRule.TWO_THIRDS:
        agreed = t.ballots_cast > 0 and 3 * lead >= 2 * t.ballots_cast
    else:
        agreed = 2 * lead > t.ballots_cast
    agreed = agreed and not tied and lead > 0
    figures.update({"leading_option": leader, "leading_ballots": lead, "tied": tied, "majority_base": t.ballots_cast})
    return Result(passed=quorum_met and agreed, winning_option=leader if agreed else "", figures=figures)


def _civil_code(vote: Vote, t: TallyInput, figures: dict[str, Any], quorum_met: bool) -> Result:
    """Civil Code art. 278: ≥2/3 of owners and of area take part; of those taking part, more
    than half (major matters: at least three quarters) of owners and of their area agree."""
    yes = t.options.get(Vote.YES, Count())
    owners_ok = t.eligible_owners > 0 and 3 * t.owner_ballots >= 2 * t.eligible_owners
    area_ok = t.eligible_area > 0 and 3 * t.owner_area >= 2 * t.eligible_area
    if vote.is_major_matter:
        yes_owners_ok = t.owner_ballots > 0 and 4 * yes.owners >= 3 * t.owner_ballots
        yes_area_ok = t.owner_area > 0 and 4 * yes.area >= 3 * t.owner_area
    else:
        yes_owners_ok = 2 * yes.owners > t.owner_ballots
        yes_area_ok = 2 * yes.area > t.owner_area
    figures.update(
        {
            "eligible_owners": t.eligible_owners,
            "eligible_area": str(t.eligible_area),
            "participating_owners": t.owner_ballots,
            "participating_area": str(t.owner_area),
            "participation_owners_met": owners_ok,
            "participation_area_met": area_ok,
            "agree_owners": yes.owners,
            "agree_area": str(yes.area),
            "agree_owners_met": yes_owners_ok,
            "agree_area_met": yes_area_ok,
            "is_major_matter": vote.is_major_matter,
        }
    )
    passed = quorum_met and owners_ok and area_ok and yes_owners_ok and yes_area_ok
    return Result(passed=passed, winning_option=Vote.YES if passed else "", figures=figures)
