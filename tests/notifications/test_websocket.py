"""WS /ws/v1/: token auth, stream authorization, live events, and exact resync over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from notifications.realtime import publish_on_commit
from residents.models import ApiToken
from tests import factories as f
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


def application():
    from config.asgi import application as app

    return app


async def connect(token: str | None = None, subprotocols: list[str] | None = None) -> WebsocketCommunicator:
    path = "/ws/v1/" + (f"?token={token}" if token else "")
    communicator = WebsocketCommunicator(application(), path, subprotocols=subprotocols)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def publish(stream: str, type: str, payload: dict) -> int:
    with transaction.atomic():
        event = publish_on_commit(stream, type, payload)
    return event.id


async def subscribe(communicator, stream: str) -> dict:
    await communicator.send_json_to({"action": "subscribe", "stream": stream})
    return await communicator.receive_json_from(timeout=2)


def test_bad_token_closes_4401():
    async def scenario():
        communicator = await connect("stq_nonsense")
        error = await communicator.receive_json_from()
        assert error["error"]["code"] == "token_invalid"
        assert (await communicator.receive_output())["code"] == 4401

    async_to_sync(scenario)()


def test_missing_and_expired_token_close_4401():
    user = f.UserFactory()
    token, raw = ApiToken.issue(user)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    async def scenario():
        for raw_token in (None, raw):
            communicator = await connect(raw_token)
            error = await communicator.receive_json_from()
            assert error["error"]["code"] in ("not_authenticated", "token_expired")
            assert (await communicator.receive_output())["code"] == 4401

    async_to_sync(scenario)()


def test_resident_receives_neighborhood_events_live(neighborhood):
    user = f.resident(neighborhood)
    raw = f.token_for(user)
    stream = f"neighborhood.{neighborhood.pk}"

    async def scenario():
        communicator = await connect(subprotocols=["bearer", raw])
        ack = await subscribe(communicator, stream)
        assert ack == {"type": "subscribed", "stream": stream, "last_id": 0}
        event_id = await sync_to_async(publish)(stream, "post.created", {"post_id": 7})
        await sync_to_async(publish)("neighborhood.999999", "post.created", {"post_id": 8})
        assert await communicator.receive_json_from(timeout=2) == {
            "id": event_id, "stream": stream, "type": "post.created", "payload": {"post_id": 7},
        }
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_refused_subscription_is_answered_and_the_socket_keeps_its_other_streams(neighborhood, other_neighborhood):
    outsider = f.resident(other_neighborhood)
    raw = f.token_for(outsider)
    own = f"neighborhood.{other_neighborhood.pk}"
    forbidden = f"neighborhood.{neighborhood.pk}"

    async def scenario():
        communicator = await connect(raw)
        assert (await subscribe(communicator, own))["type"] == "subscribed"
        refused = await subscribe(communicator, forbidden)
        assert refused == {"error": {"code": "stream_not_found", "message": "订阅的频道不存在", "detail": {"stream": forbidden}}}
        # Not closed: the stream it already held still delivers, and it may subscribe again.
        event_id = await sync_to_async(publish)(own, "post.created", {"post_id": 1})
        await sync_to_async(publish)(forbidden, "post.created", {"post_id": 2})
        frame = await communicator.receive_json_from(timeout=2)
        assert (frame["id"], frame["stream"]) == (event_id, own)
        assert await communicator.receive_nothing(timeout=0.5)
        assert (await subscribe(communicator, f"user.{outsider.pk}"))["type"] == "subscribed"
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("stream_of", ["user.other", "staff.neighborhood", "staff.street", "unknown.1"])
def test_streams_beyond_the_users_reach_are_refused(neighborhood, street, stream_of):
    user = f.resident(neighborhood)
    other = f.UserFactory()
    stream = {
        "user.other": f"user.{other.pk}",
        "staff.neighborhood": f"staff.neighborhood.{neighborhood.pk}",
        "staff.street": f"staff.street.{street.pk}",
        "unknown.1": "unknown.1",
    }[stream_of]
    raw = f.token_for(user)

    async def scenario():
        communicator = await connect(raw)
        error = await subscribe(communicator, stream)
        assert error["error"]["code"] == "stream_not_found" and error["error"]["detail"] == {"stream": stream}
        assert (await subscribe(communicator, f"user.{user.pk}"))["type"] == "subscribed"
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_staff_may_read_staff_streams_and_own_user_stream(neighborhood, street):
    committee = f.staff(neighborhood)
    officer = f.officer(street)
    committee_raw, officer_raw = f.token_for(committee), f.token_for(officer)

    async def scenario():
        communicator = await connect(committee_raw)
        for stream in (f"staff.neighborhood.{neighborhood.pk}", f"neighborhood.{neighborhood.pk}", f"user.{committee.pk}"):
            assert (await subscribe(communicator, stream))["type"] == "subscribed"
        await communicator.disconnect()
        communicator = await connect(officer_raw)
        for stream in (f"staff.street.{street.pk}", f"staff.neighborhood.{neighborhood.pk}"):
            assert (await subscribe(communicator, stream))["type"] == "subscribed"
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_client_that_was_away_resyncs_exactly(api_for, neighborhood, other_neighborhood):
    user = f.resident(neighborhood)
    raw = f.token_for(user)
    stream = f"neighborhood.{neighborhood.pk}"
    publish(stream, "post.created", {"n": 0})

    async def live_then_away():
        communicator = await connect(raw)
        ack = await subscribe(communicator, stream)
        await sync_to_async(publish)(stream, "post.created", {"n": 1})
        received = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return ack, received

    ack, received = async_to_sync(live_then_away)()
    missed = [publish(stream, "post.created", {"n": n}) for n in range(2, 7)]
    publish(f"neighborhood.{other_neighborhood.pk}", "post.created", {"n": 99})

    api = api_for(user)
    body = api.get("/api/v1/events", {"stream": stream, "since": received["id"], "limit": 3}).json()
    rest = api.get("/api/v1/events", {"stream": stream, "since": body["last_id"]}).json()
    ids = [e["id"] for e in body["results"] + rest["results"]]
    assert ids == missed and body["has_more"] and not rest["has_more"]
    assert [e["payload"]["n"] for e in body["results"] + rest["results"]] == [2, 3, 4, 5, 6]
    assert ack["last_id"] < received["id"]


def test_events_of_a_stream_you_may_not_read_are_404(api_for, neighborhood, other_neighborhood):
    outsider = f.resident(other_neighborhood)
    publish(f"neighborhood.{neighborhood.pk}", "post.created", {})
    assert_error(api_for(outsider).get("/api/v1/events", {"stream": f"neighborhood.{neighborhood.pk}"}), 404, "stream_not_found")
    assert_error(api_for(outsider).get("/api/v1/events", {"stream": f"neighborhood.{neighborhood.pk}", "since": "x"}), 400)
    assert_error(api_for(outsider).get("/api/v1/events"), 400)


def test_rolled_back_change_publishes_nothing(neighborhood):
    user = f.resident(neighborhood)
    raw = f.token_for(user)
    stream = f"neighborhood.{neighborhood.pk}"

    def publish_then_roll_back():
        try:
            with transaction.atomic():
                publish_on_commit(stream, "post.created", {})
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass

    async def scenario():
        communicator = await connect(raw)
        await subscribe(communicator, stream)
        await sync_to_async(publish_then_roll_back)()
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_frame_times_read_as_the_rest_api_writes_them(api_for, seeded_catalog, neighborhood):
    from services.actions.requests import check_create_service_request, do_create_service_request
    from services.models import ServiceItem

    staff = f.staff(neighborhood)
    son = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, birth_year=1938, is_default=True)
    stream = f"staff.neighborhood.{neighborhood.pk}"
    raw = f.token_for(staff)

    def one_tap():
        meal = ServiceItem.objects.get(code="meal-delivery")
        return do_create_service_request(check_create_service_request(actor=son, item=meal, extra={"diet": "低盐", "time_slot": "午餐"})).pk

    async def scenario():
        communicator = await connect(raw)
        await subscribe(communicator, stream)
        request_id = await sync_to_async(one_tap)()
        frame = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return request_id, frame

    request_id, frame = async_to_sync(scenario)()
    assert (frame["type"], frame["payload"]["id"]) == ("service_request.created", request_id)
    rest = api_for(staff).get(f"/api/v1/service-requests/{request_id}").json()
    for field in ("accept_due_at", "complete_due_at"):
        assert frame["payload"][field].endswith("+08:00"), frame["payload"][field]
        assert frame["payload"][field] == rest[field]
    resynced = api_for(staff).get("/api/v1/events", {"stream": stream}).json()["results"]
    by_type = {e["type"]: e for e in resynced}
    assert set(by_type) == {"service_request.created", "case.created"}
    assert by_type["service_request.created"]["payload"]["accept_due_at"] == rest["accept_due_at"]
    # The engine's frame of the same create: its deadline (the earlier of the two) as REST writes it.
    assert by_type["case.created"]["payload"]["due_at"] == min(rest["accept_due_at"], rest["complete_due_at"])
    assert all(e["created_at"].endswith("+08:00") for e in resynced)
