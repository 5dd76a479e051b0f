"""A claim whose request died (the database went away mid-request, the process was killed)
must not hold its Idempotency-Key for a day: after ABANDONED_CLAIM a repeat takes it over.
The fault suite found 51 retries answered 409 after one PostgreSQL restart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.idempotency import ABANDONED_CLAIM
from core.models import IdempotencyRecord
from residents.models import Beneficiary
from tests import factories as f
from tests.conftest import Api, assert_error

URL = "/api/v1/beneficiaries"
ELDER = {"name": "王阿婆", "relation": "母亲", "birth_year": 1938, "mobility": "assisted"}


@pytest.fixture
def son(db, neighborhood):
    return f.resident(neighborhood, nickname="张三")


def _leave_claim(user, key: str, *, age: timedelta) -> None:
    """What a request that died after claiming the key leaves behind: a record with no answer
    (and, its transaction rolled back, no row)."""
    assert Api(user).post(URL, ELDER, headers={"Idempotency-Key": key}).status_code == 201
    Beneficiary.objects.filter(owner=user).delete()
    IdempotencyRecord.objects.filter(user=user, key=key).update(
        status_code=None, response_body=None, created_at=timezone.now() - age
    )


def test_a_fresh_claim_is_still_in_progress(son):
    _leave_claim(son, "tap", age=timedelta(seconds=5))
    assert_error(Api(son).post(URL, ELDER, headers={"Idempotency-Key": "tap"}), 409, "idempotency_in_progress")
    assert not Beneficiary.objects.filter(owner=son).exists()


def test_an_abandoned_claim_is_taken_over_and_then_replays(son):
    _leave_claim(son, "tap", age=ABANDONED_CLAIM + timedelta(seconds=1))
    api = Api(son)
    first = api.post(URL, ELDER, headers={"Idempotency-Key": "tap"})
    assert first.status_code == 201, first.content
    again = api.post(URL, ELDER, headers={"Idempotency-Key": "tap"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Beneficiary.objects.filter(owner=son).count() == 1


def test_an_answered_record_is_never_taken_over_within_the_day(son):
    api = Api(son)
    first = api.post(URL, ELDER, headers={"Idempotency-Key": "tap"})
    IdempotencyRecord.objects.filter(key="tap").update(created_at=timezone.now() - timedelta(hours=23))
    again = api.post(URL, ELDER, headers={"Idempotency-Key": "tap"})
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Beneficiary.objects.filter(owner=son).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_answer_of_a_committed_create_is_stored_through_a_database_blip(neighborhood):
    """The create committed, then the database went away for a moment: its answer is still
    stored (the write waits the restart out) and the person gets their 201, so a repeat replays
    it instead of answering 409 for a minute and then making the elder a second time."""
    from django.db import OperationalError, connection

    son = f.resident(neighborhood, nickname="张三")
    blips = {"left": 2}

    def drop_the_first_answers(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE") and "core_idempotencyrecord" in sql and blips["left"]:
            blips["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    api = Api(son)
    with connection.execute_wrapper(drop_the_first_answers):
        first = api.post(URL, ELDER, headers={"Idempotency-Key": "tap"})
    assert first.status_code == 201, first.content
    assert blips["left"] == 0  # the blip happened
    again = api.post(URL, ELDER, headers={"Idempotency-Key": "tap"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Beneficiary.objects.filter(owner=son).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_create_that_committed_before_the_database_went_away_is_never_made_twice(neighborhood):
    """The row committed, then building the answer met a dead database: the key is not given
    back (a repeat would make it again); repeats are told it was made, and which row."""
    from django.db import OperationalError
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from core.idempotency import idempotent

    son = f.resident(neighborhood, nickname="张三")
    made: list[int] = []

    class ElderView:
        @idempotent
        def post(self, request):
            made.append(Beneficiary.objects.create(owner=son, neighborhood=neighborhood, name="王阿婆", birth_year=1938).pk)
            raise OperationalError("server closed the connection unexpectedly")

    def tap():
        raw = APIRequestFactory().post(URL, {"name": "王阿婆"}, format="json", HTTP_IDEMPOTENCY_KEY="tap")
        request = Request(raw, parsers=[JSONParser()])
        request.user = son
        return ElderView().post(request)

    with pytest.raises(OperationalError):
        tap()
    again = tap()  # the repeat: not run again
    assert made and len(made) == 1
    assert again.status_code == 409 and again["Idempotent-Replayed"] == "true"
    error = again.data["error"]
    assert error["code"] == "idempotency_answer_lost"
    assert error["detail"]["object"] == "residents.Beneficiary" and error["detail"]["id"] == made[0]
    assert Beneficiary.objects.filter(owner=son).count() == 1
