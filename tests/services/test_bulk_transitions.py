"""Staff accept or assign many requests at once (the dispatch board): each id in its own locked
transaction, an outcome per id, and ids of another region answer exactly like ids that do not exist."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from notifications.models import Notification
from services.actions.bulk import do_bulk_transition
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRequest, ServiceRequestEvent
from tests import factories as f
from tests.conftest import Api, assert_error
from tests.services.conftest import MEAL, item

URL = "/api/v1/service-requests/bulk-transitions"


def _meal(requester):
    return do_create_service_request(check_create_service_request(actor=requester, item=item("meal-delivery"), extra=MEAL))


def _call(requester):
    # No age limit: a resident of the other street without a registered elder can ask for it.
    return do_create_service_request(check_create_service_request(actor=requester, item=item("safety-emergency-call")))


def _by_id(response) -> dict[int, dict]:
    return {r["id"]: r for r in response.json()["results"]}


def test_staff_accept_many_and_each_id_gets_its_own_outcome(world, api_for):
    fresh, taken, elsewhere = _meal(world.son), _meal(world.son), _call(world.outsider)
    do_transition_service_request(taken.pk, actor=world.staff, to="accepted")
    response = api_for(world.staff).post(URL, {"ids": [fresh.pk, taken.pk, elsewhere.pk, 999_999], "to": "accepted"})
    assert response.status_code == 200, response.content
    results = _by_id(response)
    assert results[fresh.pk] == {"id": fresh.pk, "outcome": "ok", "status_code": 200, "status": "accepted", "error": None}
    assert results[taken.pk]["outcome"] == "conflict" and results[taken.pk]["status_code"] == 409
    assert results[taken.pk]["status"] == "accepted"
    assert results[taken.pk]["error"]["code"] == "request_state_changed"
    assert results[taken.pk]["error"]["detail"] == {"current": "accepted"}
    # Another region's request and a made-up id are indistinguishable.
    strip = {k: v for k, v in results[elsewhere.pk].items() if k != "id"}
    assert strip == {k: v for k, v in results[999_999].items() if k != "id"}
    assert strip["outcome"] == "not_found" and strip["status_code"] == 404 and strip["status"] is None
    assert strip["error"]["code"] == "service_request_not_found"
    assert [r["id"] for r in response.json()["results"]] == [fresh.pk, taken.pk, elsewhere.pk, 999_999]  # the order sent
    assert response.json()["counts"] == {"ok": 1, "conflict": 1, "not_found": 2}

    assert ServiceRequest.objects.get(pk=fresh.pk).status == "accepted"
    assert ServiceRequest.objects.get(pk=elsewhere.pk).status == "submitted"
    assert ServiceRequestEvent.objects.filter(request=taken, to_status="accepted").count() == 1


def test_bulk_assign_dispatches_to_the_organization_and_tells_its_members(world, api_for):
    meals = [_meal(world.son) for _ in range(3)]
    call = do_create_service_request(check_create_service_request(actor=world.son, item=item("safety-emergency-call")))
    for req in [*meals, call]:
        do_transition_service_request(req.pk, actor=world.staff, to="accepted")
    staff = api_for(world.staff)

    # No organization named: each request goes to its item's default, and one item has none.
    response = staff.post(URL, {"ids": [m.pk for m in meals] + [call.pk], "to": "assigned", "note": "今日批量派单"})
    results = _by_id(response)
    assert all(results[m.pk]["outcome"] == "ok" and results[m.pk]["status"] == "assigned" for m in meals)
    assert results[call.pk]["outcome"] == "invalid" and results[call.pk]["error"]["code"] == "assignee_required"
    assert ServiceRequest.objects.get(pk=call.pk).status == "accepted"
    assert set(ServiceRequest.objects.filter(pk__in=[m.pk for m in meals]).values_list("assigned_org", flat=True)) == {world.org.pk}
    assert Notification.objects.filter(recipient=world.worker, kind="service_request_assigned").count() == 3
    assert Notification.objects.filter(recipient=world.son, kind="service_request_status").count() == 4 + 3

    response = staff.post(URL, {"ids": [call.pk], "to": "assigned", "assignee_org": world.org.pk})
    assert _by_id(response)[call.pk]["outcome"] == "ok"


def test_an_officer_covers_the_street_and_the_other_street_sees_nothing(world, api_for):
    req = _meal(world.son)
    other = api_for(world.other_officer).post(URL, {"ids": [req.pk], "to": "accepted"})
    assert other.status_code == 200 and _by_id(other)[req.pk]["outcome"] == "not_found"
    assert ServiceRequest.objects.get(pk=req.pk).status == "submitted"
    mine = api_for(world.officer).post(URL, {"ids": [req.pk], "to": "accepted"})
    assert _by_id(mine)[req.pk]["outcome"] == "ok"


def test_residents_and_providers_may_not_bulk_move(world, api_for):
    req = _meal(world.son)
    for someone in (world.son, world.worker, world.outsider):
        assert_error(api_for(someone).post(URL, {"ids": [req.pk], "to": "accepted"}), 403, "staff_only")
    assert ServiceRequest.objects.get(pk=req.pk).status == "submitted"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": [], "to": "accepted"},
        {"ids": ["一"], "to": "accepted"},
        {"ids": [1, 1], "to": "accepted"},
        {"ids": list(range(1, 102)), "to": "accepted"},
        {"ids": [1], "to": "completed"},
        {"ids": [1], "to": "cancelled"},
        {"ids": 1, "to": "accepted"},
        {"ids": [37781523108177563877376], "to": "accepted"},  # beyond what the database can hold
    ],
)
def test_malformed_bulk_bodies_are_400_and_change_nothing(world, api_for, body):
    req = _meal(world.son)
    if body.get("ids") == [1]:
        body = {**body, "ids": [req.pk]}
    assert_error(api_for(world.staff).post(URL, body), 400)
    assert ServiceRequest.objects.get(pk=req.pk).status == "submitted"


def test_naming_an_assignee_for_an_accept_is_400(world, api_for):
    req = _meal(world.son)
    response = api_for(world.staff).post(URL, {"ids": [req.pk], "to": "accepted", "assignee_org": world.org.pk})
    assert_error(response, 400, "assignee_not_allowed")
    assert ServiceRequest.objects.get(pk=req.pk).status == "submitted"


def test_a_double_submit_with_the_same_key_moves_each_request_once(world, api_for):
    reqs = [_meal(world.son) for _ in range(2)]
    staff = api_for(world.staff)
    body = {"ids": [r.pk for r in reqs], "to": "accepted"}
    first = staff.post(URL, body, headers={"Idempotency-Key": "bulk-1"})
    again = staff.post(URL, body, headers={"Idempotency-Key": "bulk-1"})
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert ServiceRequestEvent.objects.filter(request__in=reqs, to_status="accepted").count() == 2
    # Without the key the second tap is honest about what happened meanwhile.
    third = staff.post(URL, body)
    assert {r["outcome"] for r in third.json()["results"]} == {"conflict"}


def test_the_console_calls_the_same_action(world):
    req, elsewhere = _meal(world.son), _call(world.outsider)
    outcomes = do_bulk_transition(actor=world.staff, ids=[req.pk, elsewhere.pk], to="accepted")
    assert [(o.id, o.outcome, o.status) for o in outcomes] == [(req.pk, "ok", "accepted"), (elsewhere.pk, "not_found", None)]


# --- two staff at once ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_staff_bulk_accepting_overlapping_requests_move_each_once(seeded_catalog, street, neighborhood):
    son = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, birth_year=1938, is_default=True)
    reqs = [_meal(son) for _ in range(6)]
    ids = [r.pk for r in reqs]
    staff, colleague = Api(f.staff(neighborhood)), Api(f.staff(neighborhood))
    barrier = threading.Barrier(2)
    responses: list = [None, None]

    def run(index, api, order):
        try:
            barrier.wait(timeout=5)
            responses[index] = api.post(URL, {"ids": order, "to": "accepted"})
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(0, staff, ids)),
        threading.Thread(target=run, args=(1, colleague, list(reversed(ids)))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
    outcomes = [_by_id(r) for r in responses]
    for request_id in ids:
        assert sorted(o[request_id]["outcome"] for o in outcomes) == ["conflict", "ok"]
        assert ServiceRequestEvent.objects.filter(request_id=request_id, to_status="accepted").count() == 1
    assert set(ServiceRequest.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"accepted"}


def test_accept_first_takes_a_fresh_request_through_both_steps_or_neither(world, api_for):
    fresh, accepted = _meal(world.son), _meal(world.son)
    no_default = do_create_service_request(check_create_service_request(actor=world.son, item=item("safety-emergency-call")))
    do_transition_service_request(accepted.pk, actor=world.staff, to="accepted")
    response = api_for(world.staff).post(
        URL, {"ids": [fresh.pk, accepted.pk, no_default.pk], "to": "assigned", "accept_first": True}
    )
    results = _by_id(response)
    assert results[fresh.pk]["status"] == results[accepted.pk]["status"] == "assigned"
    assert list(fresh.events.values_list("to_status", flat=True).order_by("id")) == ["submitted", "accepted", "assigned"]
    # The item has no default organization: the assign fails, and so the accept is undone with it.
    assert results[no_default.pk]["outcome"] == "invalid"
    assert ServiceRequest.objects.get(pk=no_default.pk).status == "submitted"
    assert not no_default.events.filter(to_status="accepted").exists()
    assert_error(api_for(world.staff).post(URL, {"ids": [fresh.pk], "to": "accepted", "accept_first": True}), 400)
