"""Races on ballots: the unique (topic, voter_key) constraint decides, never a counter."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from deliberation.models import Ballot, BallotMark, Topic
from tests import factories as f
from tests.conftest import Api
from tests.deliberation.conftest import member, topic_in, vote_rules

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_ballots_from_one_household_count_once(neighborhood):
    staff = f.staff(neighborhood)
    household = [member(neighborhood, household="9-101") for _ in range(50)]
    topic = topic_in(
        neighborhood, household[0], staff=staff, status=Topic.Status.VOTING, rules=vote_rules(unit="household")
    )
    clients = [Api(user) for user in household]
    statuses: list[int] = []
    codes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(clients))

    def vote(client: Api, choice: str) -> None:
        try:
            start.wait()
            response = client.post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": choice})
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 409:
                    codes.append(response.json()["error"]["code"])
        finally:
            connection.close()

    threads = [threading.Thread(target=vote, args=(c, "yes" if i % 2 else "no")) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [201] + [409] * 49
    assert set(codes) == {"already_voted"}
    assert Ballot.objects.filter(topic=topic).count() == 1
    assert BallotMark.objects.filter(topic=topic).count() == 1


def test_ballot_racing_the_close_is_either_counted_or_refused(neighborhood):
    staff = f.staff(neighborhood)
    voters = [member(neighborhood) for _ in range(10)]
    topic = topic_in(neighborhood, voters[0], staff=staff, status=Topic.Status.VOTING)
    results: list[int] = []
    start = threading.Barrier(len(voters) + 1)

    def vote(user):
        try:
            start.wait()
            results.append(Api(user).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "yes"}).status_code)
        finally:
            connection.close()

    def close():
        try:
            start.wait()
            Api(staff).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "decided"})
        finally:
            connection.close()

    threads = [threading.Thread(target=vote, args=(u,)) for u in voters] + [threading.Thread(target=close)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    topic.refresh_from_db()
    assert topic.status == Topic.Status.DECIDED
    assert set(results) <= {201, 409}
    # Every accepted ballot is in the stored tally, and no refused one is.
    assert topic.decision.tally["yes"]["ballots"] == results.count(201) == Ballot.objects.filter(topic=topic).count()
