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
