"""A 30-day meal plan: one occurrence per day, completed one by one; pause/resume/cancel stop the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from services.actions.transitions import do_transition_service_request
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
    assert statuses[done.pk] == "completed" and list(statuses.values()).count("paused") == 9
    assert_error(son.post(f"{URL}/{plan_id}/pause"), 409, "plan_state_changed")
    resumed = son.post(f"{URL}/{plan_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["occurrences_changed"] == 9
    assert ServiceRequest.objects.filter(plan_id=plan_id, status="assigned").count() == 9
    # The same rows came back: a pause and a resume never double a day.
    assert ServiceRequest.objects.filter(plan_id=plan_id).count() == 10
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


def test_a_day_the_family_cancelled_stays_cancelled_through_pause_and_resume(world, api_for):
    son = api_for(world.son)
    plan_id = son.post(URL, _body(days=5)).json()["id"]
    one_day = ServiceRequest.objects.filter(plan_id=plan_id).order_by("occurrence_date")[2]
    assert son.post(f"/api/v1/service-requests/{one_day.pk}/transitions", {"to": "cancelled"}).status_code == 200
    son.post(f"{URL}/{plan_id}/pause")
    son.post(f"{URL}/{plan_id}/pause")  # a double tap changes nothing
    resumed = son.post(f"{URL}/{plan_id}/resume").json()
    assert resumed["occurrences_changed"] == 4
    assert resumed["plan"]["occurrences"] == {"assigned": 4, "cancelled": 1}
    assert ServiceRequest.objects.filter(plan_id=plan_id).count() == 5
    assert ServiceRequest.objects.get(pk=one_day.pk).status == "cancelled"


def test_paused_days_are_off_the_queues_and_out_of_the_dashboard_counts(world, api_for):
    from console.queries import Period
    from tests.console.reference import service_stats

    son = api_for(world.son)
    plan_id = son.post(URL, _body(days=30)).json()["id"]
    son.post("/api/v1/service-requests", {"item": item("meal-delivery").pk})
    son.post(f"{URL}/{plan_id}/pause")
    son.post(f"{URL}/{plan_id}/resume")
    son.post(f"{URL}/{plan_id}/pause")
    queue = api_for(world.staff).get("/api/v1/service-requests", {"scope": "region", "plan": plan_id}).json()["results"]
    assert all(r["status"] == "paused" for r in queue)
    assert api_for(world.staff).get("/api/v1/service-requests", {"scope": "region", "overdue": "true"}).json()["results"] == []
    today = timezone.localdate()
    stats = service_stats([world.neighborhood.pk], Period(start=today - timedelta(days=7), end=today, granularity="week"))
    meal = next(row for row in stats if row["requests"])
    assert meal["requests"] == 1  # the one-off tap; the paused plan's 30 held days are not 30 asks


def test_a_resident_lists_their_plans_and_staff_list_their_regions(world, api_for):
    son = api_for(world.son)
    first = son.post(URL, _body(days=3)).json()["id"]
    second = son.post(URL, _body(days=7)).json()["id"]
    son.post(f"{URL}/{first}/pause")
    mine = son.get(URL).json()
    assert [p["id"] for p in mine["results"]] == [second, first] and mine["next_cursor"] is None
    assert mine["results"][1]["status"] == "paused" and mine["results"][1]["occurrences"] == {"paused": 3}
    assert [p["id"] for p in son.get(URL, {"status": "paused"}).json()["results"]] == [first]
    page = son.get(URL, {"limit": 1}).json()
    assert [p["id"] for p in page["results"]] == [second]
    assert [p["id"] for p in son.get(URL, {"limit": 1, "cursor": page["next_cursor"]}).json()["results"]] == [first]
    # Others see nothing of them; staff of the region see them with scope=region only.
    assert api_for(world.neighbor).get(URL).json()["results"] == []
    assert api_for(world.outsider).get(URL).json()["results"] == []
    assert {p["id"] for p in api_for(world.staff).get(URL, {"scope": "region"}).json()["results"]} == {first, second}
    assert_error(api_for(world.neighbor).get(URL, {"scope": "region"}), 403)
    assert_error(son.get(URL, {"scope": "everything"}), 400, "invalid_input")


def test_listing_plans_costs_the_same_queries_for_two_plans_as_for_six(world, api_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    son = api_for(world.son)
    son.get(URL)  # the token's last-used write
    for _ in range(2):
        son.post(URL, _body(days=2))
    with CaptureQueriesContext(connection) as two:
        son.get(URL)
    for _ in range(4):
        son.post(URL, _body(days=2))
    with CaptureQueriesContext(connection) as six:
        assert len(son.get(URL).json()["results"]) == 6
    assert len(six.captured_queries) == len(two.captured_queries)
