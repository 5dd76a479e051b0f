"""The one-tap create is the hottest write: its cost must not grow with the committee's size,
and it commits once (the idempotency record is written in the create's transaction)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import IdempotencyRecord
from notifications.actions import do_notify
from notifications.models import Event, Notification
from services.models import ServiceRequest
from tests import factories as f
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item

URL = "/api/v1/service-requests"


def _create_queries(api, body, key) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.post(URL, body, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.content
    # The test's own transaction turns the create's into a savepoint; in service it is a BEGIN.
    return len([q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))])


def test_notifying_five_staff_costs_the_same_queries_as_one(world, api_for):
    api = api_for(world.son)
    body = {"item": item("meal-delivery").pk, "extra": MEAL}
    _create_queries(api, body, "warm-up")  # the token's last_used_at write happens once a minute
    one_staff = _create_queries(api, body, "one")
    for i in range(4):
        f.staff(world.neighborhood, nickname=f"委员{i}")
    five_staff = _create_queries(api, body, "five")
    assert five_staff == one_staff
    # Token, access profile, elder, the neighborhood's 居委 unit on the case engine, then the
    # writes: the request's case and its timeline row, the request, its event, on PostgreSQL the inbox rows with every realtime event
    # and the staff read inside (notifications.inbox_sql), elsewhere the ORM's three statements,
    # and the idempotency record.
    assert five_staff == (10 if connection.vendor == "postgresql" else 12)
    req = ServiceRequest.objects.latest("id")
    assert Notification.objects.filter(event_key=f"service_request:{req.pk}:created").count() == 5
    assert Event.objects.filter(type="notification.created", stream__startswith="user.").count() == 1 + 1 + 5


def test_a_failed_create_releases_the_idempotency_key(world, api_for):
    api = api_for(world.son)
    bad = api.post(URL, {"item": item("meal-delivery").pk, "extra": {"diet": "麻辣"}}, headers={"Idempotency-Key": "tap"})
    assert_error(bad, 400)
    assert not IdempotencyRecord.objects.exists() and not ServiceRequest.objects.exists()
    good = api.post(URL, {"item": item("meal-delivery").pk, "extra": MEAL}, headers={"Idempotency-Key": "tap"})
    assert good.status_code == 201
    again = api.post(URL, {"item": item("meal-delivery").pk, "extra": MEAL}, headers={"Idempotency-Key": "tap"})
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == good.json()["id"]
    assert ServiceRequest.objects.count() == 1


def test_renotifying_a_larger_group_reaches_only_the_new_recipients(world, django_capture_on_commit_callbacks):
    first = do_notify(recipients=[world.staff, world.officer], kind="x", title="t", event_key="k:1")
    assert len(first) == 2 and all(n.pk for n in first)
    with django_capture_on_commit_callbacks(execute=True):
        second = do_notify(recipients=[world.staff.pk, world.officer, world.neighbor, None], kind="x", title="t",
                           event_key="k:1")
    assert [n.recipient_id for n in second] == [world.neighbor.pk]
    assert Notification.objects.filter(event_key="k:1").count() == 3
    assert list(Event.objects.filter(stream=f"user.{world.neighbor.pk}").values_list("payload__notification_id", flat=True)) == [
        second[0].pk
    ]
