"""Two copies of one batch pushed at the same instant (a vendor retrying before the first answer
came back): each event is stored once, each answer says accepted or duplicate, and the alarm in
it opens one case. Real threads and real transactions."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseEvent
from sensors.models import SensorCase, SensorEvent
from tests.races import race
from tests.sensors.conftest import event, push

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_identical_batches_at_once_store_each_event_once_and_open_one_case(world):
    batch = [event(f"e{i}", "DOOR-1", "reading", value=i) for i in range(20)] + [event("alarm-1", "SMK-1", "alarm")]
    responses = race([lambda: push(world.integration, batch), lambda: push(world.integration, batch)])
    assert [r.status_code for r in responses] == [200, 200], [r.content[:300] for r in responses]
    answers = [r.json() for r in responses]
    ids = {e["event_id"] for e in batch}
    for answer in answers:
        assert set(answer["accepted"]) | set(answer["duplicate"]) == ids and answer["refused"] == []
    # Every event was accepted by exactly one of the two pushes.
    assert sorted(answers[0]["accepted"] + answers[1]["accepted"]) == sorted(ids)
    assert SensorEvent.objects.count() == 21
    assert Case.objects.filter(kind="sensor_alert").count() == 1
    assert SensorCase.objects.get().alarm_count == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.READING).count() == 1


def test_two_different_alarms_from_one_device_at_once_open_one_case(world):
    responses = race([
        lambda: push(world.integration, [event("a1", "SMK-1", "alarm")]),
        lambda: push(world.integration, [event("a2", "SMK-1", "alarm")]),
    ])
    assert [r.status_code for r in responses] == [200, 200], [r.content[:300] for r in responses]
    assert SensorCase.objects.count() == 1 and SensorCase.objects.get().alarm_count == 2
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.READING).count() == 2


def test_two_batches_touching_the_same_devices_in_opposite_orders_never_deadlock(world):
    """Batch A moves devices 1→N-1 and raises an alarm on device 0; batch B moves N-2→0 and raises
    one on device N-1 (each alarm device held by the other's moves). Each batch locks every device
    row it writes in id order first, so they queue instead of deadlocking (PostgreSQL would abort
    one with 40P01, a 503). Repeated, fresh events each round."""
    from sensors.models import Device

    devices = [Device.objects.create(kind=Device.Kind.SMOKE, vendor="acme", vendor_device_id=f"RACE-{i}",
                                     region=world.neighborhood, place=world.smoke.place) for i in range(40)]
    names = [d.vendor_device_id for d in devices]
    for round_ in range(4):
        hour = f"2026-03-01T{10 + round_:02d}:00:00+08:00"

        def batch(tag: str, order: list[str], alarm: str, round_: int = round_, hour: str = hour) -> list[dict]:
            # Event ids follow `order` (the batch is stored in event-id order, devices moved in it).
            rows = [event(f"{tag}{round_}-hb-{i:02d}", n, "heartbeat", at=hour) for i, n in enumerate(order)]
            rows += [event(f"{tag}{round_}-hc-{i:02d}", n, "battery", at=hour, value=50 + round_) for i, n in enumerate(order)]
            return rows + [event(f"{tag}{round_}-alarm", alarm, "alarm", at=hour)]

        responses = race([
            lambda: push(world.integration, batch("A", names[1:], names[0])),
            lambda: push(world.integration, batch("B", names[-2::-1], names[-1])),
        ])
        assert [r.status_code for r in responses] == [200, 200], [r.content[:300] for r in responses]
        assert all(len(r.json()["accepted"]) == 79 for r in responses)
    moved = Device.objects.filter(vendor_device_id__in=names)
    assert {(d.last_heartbeat.isoformat(), d.battery) for d in moved} == {("2026-03-01T05:00:00+00:00", 53)}
    assert SensorCase.objects.filter(device__vendor_device_id__in=[names[0], names[-1]], is_open=True).count() == 2


def test_a_device_one_batch_moves_and_another_only_reads_from_never_deadlocks(world):
    """Batch A moves devices 0..N-1 (heartbeats) and has readings from N..2N-1; batch B the other
    way round. The foreign-key checks on the events, deferred to COMMIT on PostgreSQL, take a key
    share on every event's device — including the ones a batch only reads from, which the other
    batch holds locked. Found under the bench's load (bench/README.md, issue 18, session 8: three
    40P01 in 812 batches): a `FOR UPDATE` lock blocks a key share, so A's commit waited for B's
    lock and B's for A's. The batch locks with `FOR NO KEY UPDATE`, which a key share passes."""
    from sensors.models import Device

    devices = [Device.objects.create(kind=Device.Kind.SMOKE, vendor="acme", vendor_device_id=f"KEY-{i}",
                                     region=world.neighborhood, place=world.smoke.place) for i in range(40)]
    names = [d.vendor_device_id for d in devices]
    first, second = names[:20], names[20:]
    for round_ in range(6):
        hour = f"2026-03-01T{10 + round_:02d}:00:00+08:00"

        def batch(tag: str, moved: list[str], read: list[str], round_: int = round_, hour: str = hour) -> list[dict]:
            rows = [event(f"{tag}{round_}-hb-{i:02d}", n, "heartbeat", at=hour) for i, n in enumerate(moved)]
            return rows + [event(f"{tag}{round_}-rd-{i:02d}", n, "reading", at=hour, value=1) for i, n in enumerate(read)]

        responses = race([
            lambda: push(world.integration, batch("A", first, second)),
            lambda: push(world.integration, batch("B", second, first)),
        ])
        assert [r.status_code for r in responses] == [200, 200], [r.content[:300] for r in responses]
    assert SensorEvent.objects.filter(device__vendor_device_id__in=names).count() == 6 * 2 * 40
