"""Who sees which requests in the list, with filters, counts and a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRequest
from tests import factories as f
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item

URL = "/api/v1/service-requests"


def _ids(response):
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


def test_each_person_sees_their_own_queue(world, api_for):
    mine = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    neighbor_call = do_create_service_request(check_create_service_request(actor=world.neighbor, item=item("safety-emergency-call")))
    outsider_call = do_create_service_request(check_create_service_request(actor=world.outsider, item=item("safety-emergency-call")))
    do_transition_service_request(mine.pk, actor=world.staff, to="accepted")
    do_transition_service_request(mine.pk, actor=world.staff, to="assigned", assignee_org_id=world.org.pk)
    assert _ids(api_for(world.son).get(URL)) == [mine.pk]
    assert _ids(api_for(world.neighbor).get(URL)) == [neighbor_call.pk]
    assert _ids(api_for(world.worker).get(URL)) == [mine.pk]
    assert _ids(api_for(world.other_worker).get(URL)) == []
    assert set(_ids(api_for(world.staff).get(URL))) == {mine.pk, neighbor_call.pk}
    assert set(_ids(api_for(world.officer).get(URL))) == {mine.pk, neighbor_call.pk}
    assert _ids(api_for(world.other_officer).get(URL)) == [outsider_call.pk]


def test_staff_filter_by_status_category_item_neighborhood_and_date(world, api_for):
    meal = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    call = do_create_service_request(check_create_service_request(actor=world.neighbor, item=item("safety-emergency-call")))
    do_transition_service_request(call.pk, actor=world.staff, to="accepted")
    staff = api_for(world.staff)
    assert _ids(staff.get(URL, {"status": "accepted"})) == [call.pk]
    assert set(_ids(staff.get(f"{URL}?status=accepted&status=submitted"))) == {meal.pk, call.pk}
    assert _ids(staff.get(URL, {"category": item("meal-delivery").category_id})) == [meal.pk]
    assert _ids(staff.get(URL, {"item": item("safety-emergency-call").pk})) == [call.pk]
    assert _ids(staff.get(URL, {"neighborhood": world.other_neighborhood.pk})) == []
    today = timezone.localdate()
    assert len(_ids(staff.get(URL, {"created_from": today.isoformat(), "created_to": today.isoformat()}))) == 2
    assert _ids(staff.get(URL, {"created_from": (today + timedelta(days=1)).isoformat()})) == []
    assert _ids(staff.get(URL, {"scope": "mine"})) == []


@pytest.mark.parametrize("query", [{"status": "flying"}, {"created_from": "昨天"}, {"overdue": "maybe"},
                                   {"limit": "0"}, {"cursor": "!!"}, {"ordering": "random"},
                                   {"street": "79659612639660146688"}, {"plan": "-1"}])
def test_malformed_filters_are_400(world, api_for, query):
    response = api_for(world.staff).get(URL, query)
    assert response.status_code == 400 and "error" in response.json()


def test_counts_are_for_staff_of_the_region_only(world, api_for):
    do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    do_create_service_request(check_create_service_request(actor=world.outsider, item=item("safety-emergency-call")))
    counts = api_for(world.staff).get(f"{URL}/counts").json()
    assert counts["total"] == 1 and counts["by_status"]["submitted"] == 1
    assert api_for(world.other_officer).get(f"{URL}/counts").json()["total"] == 1
    assert_error(api_for(world.son).get(f"{URL}/counts"), 403, "staff_only")


def test_pages_follow_the_cursor_without_repeats(world, api_for):
    for _ in range(5):
        do_create_service_request(check_create_service_request(actor=world.neighbor, item=item("safety-emergency-call")))
    staff = api_for(world.staff)
    first = staff.get(URL, {"limit": 3}).json()
    second = staff.get(URL, {"limit": 3, "cursor": first["next_cursor"]}).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 5 and second["next_cursor"] is None


def _queries_for_list(api, n_expected):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(URL, {"limit": 100})
    assert len(response.json()["results"]) == n_expected
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["staff", "son", "worker"])
def test_list_costs_the_same_for_5_and_50_requests(world, api_for, who):
    father = f.BeneficiaryFactory(owner=world.son, neighborhood=world.neighborhood, birth_year=1930)

    def make(n):
        for i in range(n):
            req = do_create_service_request(check_create_service_request(actor=world.son, item=item("safety-emergency-call"),
                                            beneficiary_id=father.pk if i % 2 else None))
            do_transition_service_request(req.pk, actor=world.staff, to="accepted")
            do_transition_service_request(req.pk, actor=world.staff, to="assigned", assignee_org_id=world.org.pk)

    api = api_for(getattr(world, who))
    make(5)
    api.get(URL)  # token last_used_at write happens once
    small = _queries_for_list(api, 5)
    make(45)
    assert _queries_for_list(api, 50) == small
    assert ServiceRequest.objects.count() == 50
