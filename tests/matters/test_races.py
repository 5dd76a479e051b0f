"""Two staff accepting one matter at once, the lead and the supervising unit answering at once,
two people asking the same unit to join (会办) at once: exactly one wins, the other gets 409.
Real threads and real transactions (SQLite serialises writers; PostgreSQL blocks on
SELECT ... FOR UPDATE)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from cases.models import Case, CaseEvent, CaseJoint
from tests.conftest import Api
from tests.matters.conftest import created, url
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_staff_accepting_at_once_one_wins_the_other_409(world):
    matter = created(Api(world.reporter), world.repair)
    # Clients (and tokens) are made up front: the threads only send the racing requests.
    unit, staff = Api(world.property_worker), Api(world.staff)
    responses = race([lambda: unit.post(url(matter["id"], "accept")), lambda: staff.post(url(matter["id"], "accept"))])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], [r.content[:300] for r in responses]
    loser = next(r for r in responses if r.status_code == 409).json()["error"]
    assert loser["code"] == "case_state_changed" and loser["detail"]["status"] == "accepted"
    assert CaseEvent.objects.filter(case__matter__id=matter["id"], kind="accepted").count() == 1


def test_the_lead_and_the_supervising_unit_answering_at_once_one_answer_stands(world):
    matter = created(Api(world.reporter), world.repair)
    lead, supervisor = Api(world.property_worker), Api(world.committee_worker)
    lead.post(url(matter["id"], "accept"))
    Case.objects.filter(matter__id=matter["id"]).update(due_at=timezone.now() - timedelta(minutes=1))
    assert do_escalate_overdue_cases() == 1  # the 居委 now supervises: it may answer too
    responses = race([
        lambda: lead.post(url(matter["id"], "resolve"), {"answer": "物业：已更换灯泡"}),
        lambda: supervisor.post(url(matter["id"], "resolve"), {"answer": "居委：已督促物业修好"}),
    ])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], [r.content[:300] for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    loser = next(r for r in responses if r.status_code == 409).json()["error"]
    assert loser["code"] == "case_state_changed" and loser["detail"]["status"] == "resolved"
    assert CaseEvent.objects.filter(case__matter__id=matter["id"], kind="resolved").count() == 1
    assert Case.objects.get(matter__id=matter["id"]).answer == winner["answer"]


def test_two_people_asking_the_same_unit_to_join_at_once_it_joins_once(world):
    matter = created(Api(world.reporter), world.repair)
    lead, staff = Api(world.property_worker), Api(world.staff)
    body = {"units": [world.urban.pk], "reason": "请城管协助"}
    responses = race([lambda: lead.post(url(matter["id"], "joint"), body),
                      lambda: staff.post(url(matter["id"], "joint"), body)])
    assert sorted(r.status_code for r in responses) == [200, 409], [r.content[:300] for r in responses]
    loser = next(r for r in responses if r.status_code == 409).json()["error"]
    assert loser["code"] == "already_joined" and loser["detail"]["units"] == [world.urban.pk]
    assert CaseJoint.objects.filter(case__matter__id=matter["id"]).count() == 1
    assert CaseEvent.objects.filter(case__matter__id=matter["id"], kind="joint_requested").count() == 1
