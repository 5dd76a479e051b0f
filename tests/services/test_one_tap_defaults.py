"""One tap is `{item}` alone, for every item in the catalog: unanswered fields come from the
requester's last request for that item, then from the item's defaults; a required answer
nobody could supply is listed as 待确认 for staff, never a refusal."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from services.extra import next_meal_slot
from services.models import ServiceItem, ServiceRequest
from tests.services.conftest import item

URL = "/api/v1/service-requests"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_every_item_in_the_catalog_accepts_the_item_alone(world, api_for, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "service_request": "100/min"}}
    refused = {}
    for service in ServiceItem.objects.filter(is_active=True).order_by("id"):
        if service.who_may_ask == ServiceItem.Requester.STAFF_ONLY:
            response = api_for(world.staff).post(URL, {"item": service.pk, "beneficiary_id": world.mother.pk})
        else:
            response = api_for(world.son).post(URL, {"item": service.pk})
        if response.status_code != 201:
            refused[service.code] = response.json()["error"]["code"]
    assert refused == {}
    assert ServiceRequest.objects.count() == ServiceItem.objects.filter(is_active=True).count() == 48


def test_a_meal_tapped_alone_takes_ordinary_diet_and_the_next_meal(world, api_for):
    response = api_for(world.son).post(URL, {"item": item("meal-delivery").pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["extra"]["diet"] == "普通"
    assert body["extra"]["time_slot"] == next_meal_slot(dt.datetime.now(tz=SHANGHAI))
    assert body["to_confirm"] == []


def test_the_second_tap_repeats_the_requesters_last_choice_for_that_item(world, api_for):
    api = api_for(world.son)
    first = api.post(URL, {"item": item("meal-delivery").pk, "extra": {"diet": "低盐", "time_slot": "晚餐", "portions": 2}})
    assert first.status_code == 201, first.content
    # What the service needs carries over; an optional count is asked afresh.
    again = api.post(URL, {"item": item("meal-delivery").pk})
    assert again.json()["extra"] == {"diet": "低盐", "time_slot": "晚餐"}
    # An answer given now still wins over the last one.
    lunch = api.post(URL, {"item": item("meal-delivery").pk, "extra": {"time_slot": "午餐"}})
    assert lunch.json()["extra"] == {"diet": "低盐", "time_slot": "午餐"}


def test_a_date_is_never_carried_over_from_an_earlier_request(world, api_for):
    api = api_for(world.son)
    first = api.post(URL, {"item": item("bath-home").pk, "extra": {"visit_date": "2026-12-30", "needs_wheelchair": True}})
    assert first.status_code == 201, first.content
    again = api.post(URL, {"item": item("bath-home").pk})
    assert again.status_code == 201 and again.json()["extra"] == {}


def test_a_required_answer_nobody_gave_is_to_be_confirmed_by_staff(world, api_for):
    response = api_for(world.son).post(URL, {"item": item("medical-escort").pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"key": "hospital", "label": "医院"} in body["to_confirm"]
    staff_view = api_for(world.staff).get(f"{URL}/{body['id']}").json()
    assert {"key": "hospital", "label": "医院"} in staff_view["to_confirm"]
    # Once answered on a later tap, nothing is left to confirm and the answer carries over.
    answered = api_for(world.son).post(URL, {"item": item("medical-escort").pk, "extra": {"hospital": "华山医院"}})
    assert answered.json()["to_confirm"] == []
    carried = api_for(world.son).post(URL, {"item": item("medical-escort").pk})
    assert carried.json()["extra"]["hospital"] == "华山医院" and carried.json()["to_confirm"] == []


def test_the_catalog_shows_each_fields_default(world, api_for):
    catalog = api_for(world.son).get("/api/v1/service-catalog").json()
    meal = next(i for c in catalog["categories"] for i in c["items"] if i["code"] == "meal-delivery")
    defaults = {d["key"]: d["default"] for d in meal["fields"]}
    assert defaults["diet"] == "普通" and defaults["time_slot"] in ("午餐", "晚餐") and defaults["portions"] is None


@pytest.mark.parametrize(
    ("hour", "slot"), [(6, "午餐"), (9, "午餐"), (10, "晚餐"), (15, "晚餐"), (16, "午餐"), (23, "午餐")]
)
def test_the_next_meal_slot_follows_the_kitchens_cut_off_in_shanghai_time(hour, slot):
    assert next_meal_slot(dt.datetime(2026, 12, 1, hour, 30, tzinfo=SHANGHAI)) == slot
    # The same instant given in UTC reads the same.
    assert next_meal_slot(dt.datetime(2026, 12, 1, hour, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)) == slot
