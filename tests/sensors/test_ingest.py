"""The signed HTTP push: signature, replay window, size, duplicates, reordering, mixed batches."""

from __future__ import annotations

import json
import time

from sensors.models import Device, SensorEvent
from tests.conftest import assert_error
from tests.sensors.conftest import event, push


def test_a_signed_batch_is_stored_and_answered_per_event(world):
    response = push(world.integration, [event("e1", "DOOR-1", "reading", value={"open": True}), event("e2", "SMK-1")])
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": ["e1", "e2"], "duplicate": [], "refused": []}
    assert SensorEvent.objects.filter(integration=world.integration).count() == 2
    assert SensorEvent.objects.get(vendor_event_id="e1").value == {"open": True}


def test_a_wrong_signature_is_401_in_the_error_shape_and_stores_nothing(world):
    assert_error(push(world.integration, [event("e1", "SMK-1")], secret="not-the-secret"), 401, "bad_signature")
    assert_error(push(world.integration, [event("e1", "SMK-1")], signature=""), 401, "bad_signature")
    # The body changed after signing.
    signed = push(world.integration, [], body=b'{"events": []}')
    assert signed.status_code == 200
    assert not SensorEvent.objects.exists()


def test_a_body_tampered_after_signing_is_refused(world):
    from sensors.signature import sign

    ts = str(int(time.time()))
    body = json.dumps({"events": [event("e1", "SMK-1")]}).encode()
    forged = body.replace(b"SMK-1", b"GAS-1")
    assert_error(push(world.integration, [], body=forged, timestamp=int(ts), signature=sign("vendor-secret-0123456789", ts, body)),
                 401, "bad_signature")
    assert not SensorEvent.objects.exists()


def test_unknown_or_inactive_integration_is_401(world):
    world.integration.is_active = False
    world.integration.save()
    assert_error(push(world.integration, [event("e1", "SMK-1")]), 401, "bad_signature")


def test_the_replay_window_is_300_seconds_either_way(world, settings):
    assert settings.SENSOR_REPLAY_WINDOW_SECONDS == 300
    now = int(time.time())
    assert push(world.integration, [event("e1", "SMK-1")], timestamp=now - 290).status_code == 200
    assert_error(push(world.integration, [event("e2", "SMK-1")], timestamp=now - 310), 401, "timestamp_expired")
    assert_error(push(world.integration, [event("e3", "SMK-1")], timestamp=now + 310), 401, "timestamp_expired")
    settings.SENSOR_REPLAY_WINDOW_SECONDS = 600
    assert push(world.integration, [event("e4", "SMK-1")], timestamp=now - 310).status_code == 200
    assert set(SensorEvent.objects.values_list("vendor_event_id", flat=True)) == {"e1", "e4"}


def test_an_oversized_body_is_413(world, settings):
    settings.SENSOR_INGEST_MAX_BYTES = 1024
    events = [event(f"e{i}", "SMK-1") for i in range(50)]
    assert_error(push(world.integration, events), 413, "payload_too_large")
    assert not SensorEvent.objects.exists()


def test_a_resent_batch_is_answered_duplicate_and_stored_once(world):
    batch = [event("e1", "SMK-1"), event("e2", "DOOR-1", "reading", value=1)]
    assert push(world.integration, batch).json()["accepted"] == ["e1", "e2"]
    again = push(world.integration, [*batch, event("e3", "DOOR-1")]).json()
    assert again == {"accepted": ["e3"], "duplicate": ["e1", "e2"], "refused": []}
    assert SensorEvent.objects.count() == 3


def test_a_mixed_batch_keeps_the_good_and_refuses_each_bad_one_with_a_reason(world):
    retired = Device.objects.create(kind="water", vendor="acme", vendor_device_id="WAT-9", region=world.neighborhood,
                                    state=Device.State.RETIRED)
    assert retired.pk
    batch = [
        event("ok1", "SMK-1"),
        event("bad-device", "NOPE-1"),
        event("bad-type", "SMK-1", "explosion"),
        event("bad-time", "SMK-1", at="yesterday"),
        event("naive-time", "SMK-1", at="2026-03-01T08:00:00"),
        event("future", "SMK-1", at="2099-01-01T00:00:00+08:00"),
        event("bad-battery", "SMK-1", "battery", value=140),
        event("retired", "WAT-9"),
        "not an object",
        {"device_id": "SMK-1", "type": "heartbeat", "occurred_at": "2026-03-01T08:00:00+08:00"},
        event("ok1", "DOOR-1"),  # the same id twice in one batch
        event("ok2", "DOOR-1", "battery", value=80),
    ]
    body = push(world.integration, batch).json()
    assert body["accepted"] == ["ok1", "ok2"] and body["duplicate"] == []
    codes = {(r["index"], r["event_id"], r["code"]) for r in body["refused"]}
    assert codes == {
        (1, "bad-device", "unknown_device"), (2, "bad-type", "invalid_type"), (3, "bad-time", "invalid_time"),
        (4, "naive-time", "invalid_time"), (5, "future", "time_in_future"), (6, "bad-battery", "invalid_value"),
        (7, "retired", "device_retired"), (8, None, "invalid_event"), (9, None, "invalid_event_id"),
        (10, "ok1", "repeated_in_batch"),
    }
    assert all(r["reason"] for r in body["refused"])
    assert sorted(SensorEvent.objects.values_list("vendor_event_id", flat=True)) == ["ok1", "ok2"]


def test_a_body_that_is_not_a_batch_is_400(world):
    assert_error(push(world.integration, [], body=b'{"event": 1}'), 400, "events_required")
    assert_error(push(world.integration, [], body=b"[1, 2]"), 400, "events_required")


def test_heartbeat_and_battery_only_move_forward(world):
    late, early = "2026-03-01T10:00:00+08:00", "2026-03-01T09:00:00+08:00"
    push(world.integration, [event("h2", "SMK-1", "heartbeat", at=late), event("b2", "SMK-1", "battery", at=late, value=40)])
    # Older events arriving afterwards (a vendor's retry queue) are stored but move nothing back.
    body = push(world.integration, [event("h1", "SMK-1", "heartbeat", at=early), event("b1", "SMK-1", "battery", at=early, value=90)]).json()
    assert body["accepted"] == ["h1", "b1"]
    world.smoke.refresh_from_db()
    assert world.smoke.last_heartbeat.isoformat() == "2026-03-01T02:00:00+00:00"
    assert (world.smoke.battery, world.smoke.battery_at.isoformat()) == (40, "2026-03-01T02:00:00+00:00")
    # Within one batch, the latest by occurred_at wins whatever the order.
    push(world.integration, [event("b4", "SMK-1", "battery", at="2026-03-01T12:00:00+08:00", value=30),
                             event("b3", "SMK-1", "battery", at="2026-03-01T11:00:00+08:00", value=35)])
    world.smoke.refresh_from_db()
    assert world.smoke.battery == 30


def test_ingest_is_throttled_per_integration(world, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "sensor_ingest": "2/min"}}
    assert push(world.integration, [event("e1", "SMK-1")]).status_code == 200
    assert push(world.integration, [event("e2", "SMK-1")]).status_code == 200
    assert_error(push(world.integration, [event("e3", "SMK-1")]), 429)
