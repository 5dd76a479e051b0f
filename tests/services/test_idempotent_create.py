"""Idempotency-Key on the one-tap create, which writes its key record last, in the create's own
transaction (core.idempotency, single_transaction): what a repeat gets back, and what it leaves."""

from __future__ import annotations

from django.utils import timezone

from core.models import IdempotencyRecord
from notifications.models import Notification
from services.models import ServiceRequest
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item

URL = "/api/v1/service-requests"


def test_the_same_key_on_another_body_is_422_and_the_repeat_leaves_nothing(world, api_for):
    api = api_for(world.son)
    first = api.post(URL, {"item": item("meal-delivery").pk, "extra": MEAL}, headers={"Idempotency-Key": "k"})
    assert first.status_code == 201
    notified = Notification.objects.count()
    other = api.post(URL, {"item": item("meal-delivery").pk, "extra": {**MEAL, "time_slot": "晚餐"}},
                     headers={"Idempotency-Key": "k"})
    assert_error(other, 422, "idempotency_key_reused")
    # The repeat ran the create, met the key and rolled all of it back: no request, no inbox rows.
    assert ServiceRequest.objects.count() == 1 and Notification.objects.count() == notified
    assert IdempotencyRecord.objects.get().response_body["id"] == first.json()["id"]


def test_a_repeat_that_would_now_fail_still_gets_the_first_answer(world, api_for):
    api = api_for(world.son)
    body = {"item": item("meal-delivery").pk, "extra": MEAL}
    first = api.post(URL, body, headers={"Idempotency-Key": "tap"})
    assert first.status_code == 201
    # The elder is removed before the phone's retry arrives: the create itself would now refuse.
    world.mother.deleted_at = timezone.now()
    world.mother.save(update_fields=["deleted_at"])
    assert api.post(URL, body).status_code == 403
    again = api.post(URL, body, headers={"Idempotency-Key": "tap"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ServiceRequest.objects.count() == 1


def test_a_refused_create_keeps_no_key(world, api_for):
    world.mother.deleted_at = timezone.now()
    world.mother.save(update_fields=["deleted_at"])
    api = api_for(world.son)
    refused = api.post(URL, {"item": item("meal-delivery").pk, "extra": MEAL}, headers={"Idempotency-Key": "k2"})
    assert refused.status_code == 403
    assert not IdempotencyRecord.objects.exists() and not ServiceRequest.objects.exists()
