"""Civil Code art. 278: two-thirds participation by owners and by area; majority (or three
quarters for major matters) of participating owners and of their area."""

from __future__ import annotations

import pytest

from deliberation.actions.votes import do_close_vote
from deliberation.models import Topic
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import member, topic_in, vote_rules

pytestmark = pytest.mark.django_db


def _vote(neighborhood, group, staff, owners_and_choices, *, major=False, extra_owners=()):
    owners = [member(neighborhood, group=group, owner=True, area=area) for area, _ in owners_and_choices]
    for area in extra_owners:
        member(neighborhood, group=group, owner=True, area=area)
    topic = topic_in(
        neighborhood,
        owners[0],
        group=group,
        staff=staff,
        status=Topic.Status.VOTING,
        category="elevator",
        title="5号楼加装电梯",
        rules=vote_rules(pass_rule="civil_code", is_major_matter=major),
    )
    for owner, (_, choice) in zip(owners, owners_and_choices, strict=False):
        assert Api(owner).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": choice}).status_code == 201
    do_close_vote(topic_id=topic.pk, actor=staff)
    topic.refresh_from_db()
    return topic, topic.decision.figures


def test_headcount_passes_but_area_fails(neighborhood, group, staff):
    # Three small flats agree, one large flat disagrees: 3/4 of owners, 150/350 of area.
    topic, figures = _vote(neighborhood, group, staff, [(50, "yes"), (50, "yes"), (50, "yes"), (200, "no")])
    assert figures["agree_owners_met"] is True and figures["agree_area_met"] is False
    assert topic.outcome == "not_passed"


def test_area_passes_but_headcount_fails(neighborhood, group, staff):
    topic, figures = _vote(neighborhood, group, staff, [(200, "yes"), (50, "no"), (50, "no"), (50, "no")])
    assert figures["agree_area_met"] is True and figures["agree_owners_met"] is False
    assert topic.outcome == "not_passed"


def test_both_majorities_pass(neighborhood, group, staff):
    topic, figures = _vote(neighborhood, group, staff, [(100, "yes"), (90, "yes"), (80, "no")])
    assert figures["participation_owners_met"] and figures["participation_area_met"]
    assert topic.outcome == "passed"


def test_too_few_owners_take_part(neighborhood, group, staff):
    # 2 of 4 owner households vote (< 2/3), though they hold most of the area.
    topic, figures = _vote(neighborhood, group, staff, [(300, "yes"), (300, "yes")], extra_owners=(50, 50))
    assert figures["participation_owners_met"] is False and figures["participation_area_met"] is True
    assert topic.outcome == "not_passed"


def test_major_matter_needs_three_quarters(neighborhood, group, staff):
    # 2/3 agree by head and area: enough for an ordinary matter, not for a major one.
    topic, figures = _vote(neighborhood, group, staff, [(100, "yes"), (100, "yes"), (100, "no")], major=True)
    assert figures["is_major_matter"] is True and topic.outcome == "not_passed"


def test_abstention_takes_part_but_does_not_agree(neighborhood, group, staff):
    topic, figures = _vote(neighborhood, group, staff, [(100, "yes"), (100, "abstain"), (100, "abstain")])
    assert figures["participating_owners"] == 3 and figures["agree_owners"] == 1
    assert topic.outcome == "not_passed"


def test_tenant_may_not_vote_under_civil_code(neighborhood, group, staff):
    owner = member(neighborhood, group=group, owner=True, area=90)
    tenant = member(neighborhood, group=group)
    topic = topic_in(
        neighborhood,
        owner,
        group=group,
        staff=staff,
        status=Topic.Status.VOTING,
        rules=vote_rules(pass_rule="civil_code"),
    )
    assert_error(Api(tenant).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}), 403, "not_owner")


def test_co_owners_of_one_flat_have_one_ballot_and_count_its_area_once(neighborhood, group, staff):
    husband = member(neighborhood, group=group, household="3-101", owner=True, area=100)
    wife = member(neighborhood, group=group, household="3-101", owner=True, area=100)
    topic = topic_in(
        neighborhood,
        husband,
        group=group,
        staff=staff,
        status=Topic.Status.VOTING,
        rules=vote_rules(pass_rule="civil_code"),
    )
    assert Api(husband).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}).status_code == 201
    assert_error(Api(wife).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}), 409, "already_voted")
    do_close_vote(topic_id=topic.pk, actor=staff)
    topic.refresh_from_db()
    assert topic.decision.figures["eligible_owners"] == 1 and topic.decision.figures["eligible_area"] == "100.00"
    assert topic.outcome == "passed"
