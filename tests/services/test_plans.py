"""A 30-day meal plan: one occurrence per day, completed one by one; pause/resume/cancel stop the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from services.actions import do_transition_service_request
from services.models import ServicePlan, ServiceRequest
from tests.conftest import assert_error
from tests.services.conftest import item

URL = "/api/v1/service-plans"


def _body(days=30, **overrides):
    start = timezone.localdate() + timedelta(days=1)
    body = {"item": item("meal-delivery").pk, "frequency": "daily", "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=days - 1)).isoformat(), "time_slot": "午餐", "extra": {"diet": "低盐"}}
    body.update(overrides)
    return body


def test_thirty_day_meal_plan_yields_thirty_occurrences(world, api_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(world.son).post(URL, _body())
    assert response.status_code == 201, response.content
    plan = ServicePlan.objects.get(pk=response.json()["id"])
    occurrences = ServiceRequest.objects.filter(plan=plan).order_by("occurrence_date")
    assert occurrences.count() == 30 and response.json()["occurrences"] == {"assigned": 30}
    dates = [o.occurrence_date for o in occurrences]
    assert dates == [plan.start_date + timedelta(days=i) for i in range(30)]
    first = occurrences[0]
    assert first.assigned_org == world.org and first.extra == {"diet": "低盐", "time_slot": "午餐"}
    assert timezone.localtime(first.scheduled_for).hour == 11
    assert first.address == "宝林一村5号楼301室" and first.beneficiary == world.mother
    assert first.events.count() == 1


def test_weekly_plan_only_on_chosen_weekdays(world, api_for):
    response = api_for(world.son).post(URL, _body(days=14, frequency="weekly", weekdays=[1, 3, 5]))
    assert response.status_code == 201, response.content
    days = ServiceRequest.objects.filter(plan_id=response.json()["id"]).values_list("occurrence_date", flat=True)
    assert len(days) == 6 and {d.isoweekday() for d in days} == {1, 3, 5}


def test_provider_completes_occurrences_one_by_one(world, api_for):
    plan_id = api_for(world.son).post(URL, _body(days=3)).json()["id"]
    first, second, _ = ServiceRequest.objects.filter(plan_id=plan_id).order_by("occurrence_date")
    worker = api_for(world.worker)
    for to in ("in_service", "completed"):
        assert worker.post(f"/api/v1/service-requests/{first.pk}/transitions", {"to": to}).status_code == 200
    assert ServiceRequest.objects.get(pk=second.pk).status == "assigned"
    assert worker.get("/api/v1/service-requests", {"plan": plan_id, "status": "assigned"}).json()["results"].__len__() == 2


def test_pause_stops_future_open_occurrences_and_keeps_completed_ones(world, api_for):
    son = api_for(world.son)
    plan_id = son.post(URL, _body(days=10)).json()["id"]
    done = ServiceRequest.objects.filter(plan_id=plan_id).order_by("occurrence_date").first()
    do_transition_service_request(done.pk, actor=world.worker, to="in_service")
    do_transition_service_request(done.pk, actor=world.worker, to="completed")
    response = son.post(f"{URL}/{plan_id}/pause")
    assert response.status_code == 200 and response.json()["occurrences_changed"] == 9
    statuses = dict(ServiceRequest.objects.filter(plan_id=plan_id).values_list("id", "status"))
    assert statuses[done.pk] == "completed" and list(statuses.values()).count("cancelled") == 9
    assert_error(son.post(f"{URL}/{plan_id}/pause"), 409, "plan_state_changed")
    resumed = son.post(f"{URL}/{plan_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["occurrences_changed"] == 9
    assert ServiceRequest.objects.filter(plan_id=plan_id, status="assigned").count() == 9
    cancelled = son.post(f"{URL}/{plan_id}/cancel")
    assert cancelled.json()["plan"]["status"] == "cancelled"
    assert ServiceRequest.objects.filter(plan_id=plan_id).exclude(status="cancelled").count() == 1


def test_double_tapped_plan_is_one_plan(world, api_for):
    son = api_for(world.son)
    a = son.post(URL, _body(days=5), headers={"Idempotency-Key": "plan-1"})
    b = son.post(URL, _body(days=5), headers={"Idempotency-Key": "plan-1"})
    assert a.json()["id"] == b.json()["id"] and ServiceRequest.objects.count() == 5


@pytest.mark.parametrize("overrides,code", [
    ({"frequency": "hourly"}, "invalid_input"),
    ({"start_date": "明天"}, "invalid_input"),
    ({"frequency": "weekly"}, "weekdays_required"),
    ({"weekdays": [8], "frequency": "weekly"}, "invalid_input"),
    ({"end_date": "2000-01-01"}, "invalid_period"),
    ({"time_slot": "夜宵"}, "invalid_extra_field"),
    ({"item": None}, "invalid_input"),
])
def test_malformed_plan_is_400_and_creates_nothing(world, api_for, overrides, code):
    assert_error(api_for(world.son).post(URL, _body(**overrides)), 400, code)
    assert not ServicePlan.objects.exists() and not ServiceRequest.objects.exists()


def test_non_recurring_item_and_too_long_period_are_refused(world, api_for):
    son = api_for(world.son)
    assert_error(son.post(URL, _body(item=item("bath-home").pk)), 400, "item_not_recurring")
    assert_error(son.post(URL, _body(days=120)), 400, "invalid_period")


def test_outsiders_cannot_see_or_stop_a_plan(world, api_for):
    plan_id = api_for(world.son).post(URL, _body(days=3)).json()["id"]
    for outsider in (world.neighbor, world.other_officer, world.worker):
        assert_error(api_for(outsider).get(f"{URL}/{plan_id}"), 404)
        assert_error(api_for(outsider).post(f"{URL}/{plan_id}/cancel"), 404)
    assert ServicePlan.objects.get(pk=plan_id).status == "active"
    assert api_for(world.staff).get(f"{URL}/{plan_id}").status_code == 200
