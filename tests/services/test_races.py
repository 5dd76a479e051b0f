"""Two people acting at once on one request: exactly one wins, the other gets 409 with the
current state. Real threads and real transactions (SQLite serialises writers with BEGIN
IMMEDIATE; PostgreSQL blocks on SELECT ... FOR UPDATE)."""

from __future__ import annotations

import pytest

from services.actions.requests import check_create_service_request, do_create_service_request
from services.models import ServiceRequest
from tests import factories as f
from tests.conftest import Api
from tests.races import race
from tests.services.conftest import MEAL, item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def catalog(seeded_catalog):
    """Every story here is transactional (tests/conftest.py's seeded_catalog)."""


@pytest.fixture
def scene(street, neighborhood):
    son = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, birth_year=1938, is_default=True)
    staff = f.staff(neighborhood)
    req = do_create_service_request(check_create_service_request(actor=son, item=item("meal-delivery"), extra=MEAL))
    # Clients (and tokens) are made up front: the threads only send the racing requests.
    return req, Api(son), Api(staff)


def test_accept_racing_cancel_exactly_one_wins(scene):
    req, son, staff = scene
    url = f"/api/v1/service-requests/{req.pk}/transitions"
    responses = race([
        lambda: staff.post(url, {"to": "accepted", "from_status": "submitted"}),
        lambda: son.post(url, {"to": "cancelled", "from_status": "submitted"}),
    ])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.content for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()["status"]
    loser = next(r for r in responses if r.status_code == 409).json()["error"]
    assert loser["code"] == "request_state_changed" and loser["detail"]["current"] == winner
    req.refresh_from_db()
    assert req.status == winner
    assert req.events.exclude(kind="created").count() == 1


def test_two_staff_accepting_at_once_make_one_event(scene, neighborhood):
    req, _, staff = scene
    colleague = Api(f.staff(neighborhood))
    url = f"/api/v1/service-requests/{req.pk}/transitions"
    responses = race([lambda: staff.post(url, {"to": "accepted"}), lambda: colleague.post(url, {"to": "accepted"})])
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert ServiceRequest.objects.get(pk=req.pk).events.filter(to_status="accepted").count() == 1


def test_double_tap_racing_itself_makes_one_request(scene):
    _, son, _ = scene
    before = ServiceRequest.objects.count()
    body = {"item": item("meal-delivery").pk, "extra": MEAL}
    responses = race([
        lambda: son.post("/api/v1/service-requests", body, headers={"Idempotency-Key": "race-1"}),
        lambda: son.post("/api/v1/service-requests", body, headers={"Idempotency-Key": "race-1"}),
    ])
    assert {r.status_code for r in responses} <= {201, 409}
    assert ServiceRequest.objects.count() == before + 1
