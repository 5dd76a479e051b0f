"""Two staff accepting one matter at once: exactly one wins, the other gets 409 with the current
status. Real threads and real transactions (SQLite serialises writers; PostgreSQL blocks on
SELECT ... FOR UPDATE)."""

from __future__ import annotations

import pytest

from cases.models import CaseEvent
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
