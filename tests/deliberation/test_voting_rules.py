"""Who may vote, what a ballot may say, impossible rules, closing, receipts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deliberation.actions.votes import do_close_vote
from deliberation.models import Ballot, BallotMark, Topic, Vote
from deliberation.tasks import close_due_votes
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import member, topic_in, vote_rules, vote_rules_json

pytestmark = pytest.mark.django_db


def _discussing(neighborhood, author, staff):
    return topic_in(neighborhood, author, staff=staff, status=Topic.Status.DISCUSSING)


@pytest.mark.parametrize(
    "rules",
    [
        {"quorum_percent": 120},
        {"quorum_percent": -1},
        {"opens_at": timezone.now() + timedelta(days=3), "closes_at": timezone.now() + timedelta(days=2)},
        {"closes_at": timezone.now() - timedelta(minutes=1)},
        {"kind": "approval", "options": ["甲", "乙", "丙"], "max_choices": 4},
        {"kind": "approval", "options": ["甲", "乙"], "max_choices": 0},
        {"kind": "single_choice", "options": ["只有一个"]},
        {"kind": "single_choice", "options": ["甲", "甲"]},
        {"kind": "single_choice", "options": ["甲", "乙"], "pass_rule": "civil_code"},
        {"is_major_matter": True},
    ],
)
def test_impossible_rule_is_rejected_when_the_vote_is_set_up(neighborhood, staff, zhangsan, rules):
    topic = _discussing(neighborhood, zhangsan, staff)
    r = Api(staff).post(
        f"/api/v1/topics/{topic.pk}/transitions", {"to": "voting", "summary": "小结", "vote": vote_rules_json(**rules)}
    )
    assert_error(r, 400, "vote_rule_impossible")
    topic.refresh_from_db()
    assert topic.status == "discussing" and not Vote.objects.filter(topic=topic).exists()


def test_civil_code_in_a_scope_without_owner_area_is_impossible(neighborhood, staff):
    tenant = member(neighborhood)
    topic = _discussing(neighborhood, tenant, staff)
    r = Api(staff).post(
        f"/api/v1/topics/{topic.pk}/transitions",
        {"to": "voting", "summary": "小结", "vote": vote_rules_json(pass_rule="civil_code")},
    )
    assert_error(r, 400, "vote_rule_impossible")


def test_voting_needs_a_summary_and_rules(neighborhood, staff, zhangsan):
    topic = _discussing(neighborhood, zhangsan, staff)
    chen = Api(staff)
    assert_error(
        chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "voting", "vote": vote_rules_json()}),
        400,
        "summary_required",
    )
    assert_error(
        chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "voting", "summary": "小结"}),
        400,
        "vote_rules_required",
    )
    assert_error(
        chen.post(
            f"/api/v1/topics/{topic.pk}/transitions", {"to": "voting", "summary": "小结", "vote": {"kind": "poll"}}
        ),
        400,
        "invalid_input",
    )


def test_unverified_member_gets_403_not_verified(neighborhood, staff, zhangsan, wangwu):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    wang = Api(wangwu)
    assert wang.get(f"/api/v1/topics/{topic.pk}").status_code == 200
    assert_error(wang.post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}), 403, "not_verified")
    assert not Ballot.objects.filter(topic=topic).exists()


def test_resident_of_other_neighborhood_gets_404(neighborhood, staff, zhangsan, zhaoliu):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    zhao = Api(zhaoliu)
    for r in (
        zhao.get(f"/api/v1/topics/{topic.pk}"),
        zhao.post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}),
        zhao.get(f"/api/v1/topics/{topic.pk}/receipts/AAAA-BBBB-CCCC-DDDD"),
    ):
        assert_error(r, 404, "topic_not_found")


def test_resident_of_other_building_group_gets_404(neighborhood, group, staff, zhangsan, neighbor_in_other_group):
    topic = topic_in(neighborhood, zhangsan, group=group, staff=staff, status=Topic.Status.VOTING)
    other = Api(neighbor_in_other_group)
    assert_error(other.get(f"/api/v1/topics/{topic.pk}"), 404)
    assert_error(other.post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}), 404)
    assert_error(other.post(f"/api/v1/topics/{topic.pk}/supports"), 404)
    assert topic.pk not in [t["id"] for t in other.get("/api/v1/topics").json()["results"]]


def test_malformed_ballots_are_400_and_change_nothing(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    zs = Api(zhangsan)
    for body, code in [
        ({}, "invalid_input"),
        ({"choice": "maybe"}, "invalid_choice"),
        ({"choices": ["yes", "no"]}, "invalid_choice"),
        ({"choice": "yes", "choices": ["yes"]}, "invalid_input"),
        ({"choices": []}, "invalid_choice"),
    ]:
        assert_error(zs.post(f"/api/v1/topics/{topic.pk}/ballots", body), 400, code)
    assert_error(zs.raw_post(f"/api/v1/topics/{topic.pk}/ballots", b"{not json"), 400, "malformed_request")
    assert not Ballot.objects.filter(topic=topic).exists()


def test_ballot_before_voting_is_409(neighborhood, staff, zhangsan):
    topic = _discussing(neighborhood, zhangsan, staff)
    assert_error(Api(zhangsan).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}), 409, "voting_not_open")


def test_ballot_after_close_is_rejected_and_tally_unchanged(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    Api(zhangsan).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"})
    Api(staff).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "decided"})
    topic.refresh_from_db()
    before = topic.decision.tally
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "no"}), 409, "voting_closed")
    topic.refresh_from_db()
    assert topic.decision.tally == before
    assert Ballot.objects.filter(topic=topic).count() == 1


def test_ballot_after_deadline_before_the_task_ran_is_rejected(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    Api(zhangsan).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"})
    Vote.objects.filter(topic=topic).update(closes_at=timezone.now() - timedelta(seconds=1))
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "no"}), 409, "voting_closed")
    # The deadline task closes it, once.
    assert close_due_votes.call() == [topic.pk]
    assert close_due_votes.call() == []
    topic.refresh_from_db()
    assert topic.status == "decided" and topic.outcome == "passed"
    assert topic.decision.decided_by is None and topic.decision.tally["yes"]["ballots"] == 1


def test_close_task_leaves_votes_before_their_deadline(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    assert close_due_votes.call() == []
    topic.refresh_from_db()
    assert topic.status == "voting"


def test_one_ballot_per_person_twice_is_409_unless_change_allowed(neighborhood, staff, zhangsan, lisi):
    fixed = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    zs = Api(zhangsan)
    assert zs.post(f"/api/v1/topics/{fixed.pk}/ballots", {"choice": "yes"}).status_code == 201
    assert_error(zs.post(f"/api/v1/topics/{fixed.pk}/ballots", {"choice": "no"}), 409, "already_voted")

    changeable = topic_in(
        neighborhood,
        lisi,
        staff=staff,
        status=Topic.Status.VOTING,
        rules=vote_rules(allow_change=True),
        title="另一个议题",
    )
    first = zs.post(f"/api/v1/topics/{changeable.pk}/ballots", {"choice": "yes"}).json()["receipt_code"]
    r = zs.post(f"/api/v1/topics/{changeable.pk}/ballots", {"choice": "no"})
    assert r.status_code == 200 and r.json()["changed"] is True
    second = r.json()["receipt_code"]
    assert Ballot.objects.filter(topic=changeable).count() == 1
    assert list(BallotMark.objects.filter(topic=changeable).values_list("option", flat=True)) == ["no"]
    # The old receipt says it was replaced; the new one shows the current choice.
    assert zs.get(f"/api/v1/topics/{changeable.pk}/receipts/{first}").json()["status"] == "superseded"
    r = zs.get(f"/api/v1/topics/{changeable.pk}/receipts/{second.lower()}")
    assert r.json() | {"recorded_at": None} == {
        "topic_id": changeable.pk,
        "status": "recorded",
        "choices": ["no"],
        "recorded_at": None,
    }
    assert_error(zs.get(f"/api/v1/topics/{changeable.pk}/receipts/0000-0000-0000-0000"), 404, "receipt_not_found")


def test_household_member_cannot_change_another_members_ballot(neighborhood, staff):
    a, b = member(neighborhood, household="7-201"), member(neighborhood, household="7-201")
    topic = topic_in(
        neighborhood, a, staff=staff, status=Topic.Status.VOTING, rules=vote_rules(unit="household", allow_change=True)
    )
    assert Api(a).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}).status_code == 201
    assert_error(Api(b).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "no"}), 409, "already_voted")
    assert Api(b).get(f"/api/v1/topics/{topic.pk}").json()["household_voted"] is True


def test_approval_vote_counts_each_mark_and_picks_the_majority_option(neighborhood, staff):
    voters = [member(neighborhood) for _ in range(4)]
    topic = topic_in(
        neighborhood,
        voters[0],
        staff=staff,
        status=Topic.Status.VOTING,
        category="public_welfare",
        rules=vote_rules(kind="approval", options=["健身角", "读书角", "充电桩"], max_choices=2),
    )
    picks = [["1", "2"], ["1"], ["1", "3"], ["2"]]
    for voter, choices in zip(voters, picks, strict=False):
        assert Api(voter).post(f"/api/v1/topics/{topic.pk}/ballots", {"choices": choices}).status_code == 201
    assert_error(Api(voters[0]).post(f"/api/v1/topics/{topic.pk}/ballots", {"choices": ["1", "2", "3"]}), 400)
    do_close_vote(topic_id=topic.pk, actor=staff)
    topic.refresh_from_db()
    d = topic.decision
    assert {k: v["ballots"] for k, v in d.tally.items()} == {"1": 3, "2": 2, "3": 1}
    assert d.outcome == "passed" and d.winning_option == "1"
    assert sum(v["ballots"] for v in d.tally.values()) == BallotMark.objects.filter(topic=topic).count()


def test_quorum_not_met_fails_even_with_unanimous_ballots(neighborhood, staff):
    voters = [member(neighborhood) for _ in range(10)]
    topic = topic_in(
        neighborhood, voters[0], staff=staff, status=Topic.Status.VOTING, rules=vote_rules(quorum_percent=50)
    )
    for voter in voters[:4]:
        Api(voter).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"})
    do_close_vote(topic_id=topic.pk, actor=staff)
    topic.refresh_from_db()
    assert topic.outcome == "not_passed"
    assert topic.decision.figures["quorum_met"] is False and topic.decision.figures["eligible_voters"] == 10


def test_two_thirds_rule_ignores_abstentions(neighborhood, staff):
    voters = [member(neighborhood) for _ in range(6)]
    topic = topic_in(
        neighborhood, voters[0], staff=staff, status=Topic.Status.VOTING, rules=vote_rules(pass_rule="two_thirds")
    )
    for voter, choice in zip(voters, ["yes", "yes", "no", "abstain", "abstain", "abstain"], strict=False):
        Api(voter).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": choice})
    do_close_vote(topic_id=topic.pk, actor=staff)
    topic.refresh_from_db()
    assert topic.outcome == "passed"
    assert topic.decision.figures["majority_base"] == 3


def test_double_submit_with_idempotency_key_makes_one_ballot(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    zs = Api(zhangsan)
    r1 = zs.post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}, headers={"Idempotency-Key": "b-1"})
    r2 = zs.post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}, headers={"Idempotency-Key": "b-1"})
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["receipt_code"] == r2.json()["receipt_code"]
    assert Ballot.objects.filter(topic=topic).count() == 1


def test_staff_who_do_not_live_here_cannot_vote(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    assert_error(Api(staff).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}), 403, "not_a_resident")
