"""The MQTT bridge as its own OS process (`manage.py mqtt_bridge`) against a real mosquitto, on
the test's own database (the SQLite file or PostgreSQL): events published are ingested through
the same function as the HTTP push; a bridge killed with SIGKILL mid-stream and restarted
leaves every event stored exactly once; a restarted broker is reconnected to."""

from __future__ import annotations

import time

import pytest

from sensors.models import SensorCase, SensorEvent
from sensors.mqtt import Broker, Rejected, handle_message, topic_for
from tests.mosquitto_process import Publisher, mosquitto  # noqa: F401  (the fixture)
from tests.sensors.bridge_process import BridgeProcess
from tests.sensors.bridge_process import wait as _wait
from tests.sensors.conftest import event

pytestmark = [pytest.mark.mqtt]


def _heartbeats(prefix: str, message: int, per_message: int) -> list[dict]:
    return [event(f"{prefix}-{message}-{i}", "SMK-1", "heartbeat", at=f"2026-03-01T08:{message % 60:02d}:{i % 60:02d}+08:00")
            for i in range(per_message)]


@pytest.fixture
def bridge(mosquitto, tmp_path):  # noqa: F811
    process = BridgeProcess(mosquitto.url, tmp_path)
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_bridge_ingests_survives_sigkill_and_broker_restart_storing_each_event_once(world, mosquitto, bridge):  # noqa: F811
    topic = topic_for(world.integration.pk)
    bridge.start()
    publisher = Publisher(mosquitto.url)
    count = SensorEvent.objects.count

    # 1. Published events are ingested, an alarm opens its case as over HTTP.
    publisher.publish(topic, [event("alarm-1", "SMK-1", "alarm", at="2026-03-01T23:10:00+08:00")])
    for m in range(5):
        publisher.publish(topic, _heartbeats("first", m, 10))
    _wait(lambda: count() == 51, "the first 51 events", bridge)
    assert SensorCase.objects.get(device=world.smoke).rule == SensorCase.Rule.ALARM

    # 2. A stream the bridge is killed in the middle of; more published while it is down, and a
    #    vendor resending a batch it had already sent.
    stream = [_heartbeats("stream", m, 50) for m in range(40)]
    for events in stream:
        publisher.publish(topic, events)
    _wait(lambda: count() > 51, "the stream to start", bridge)
    bridge.kill()
    at_kill = count()
    assert 51 < at_kill < 51 + 40 * 50, at_kill  # killed mid-stream
    for m in range(10):
        publisher.publish(topic, _heartbeats("while-down", m, 10))
    publisher.publish(topic, stream[0])  # a resent batch
    bridge.start()
    expected = 51 + 40 * 50 + 10 * 10
    _wait(lambda: count() == expected, f"all {expected} events after the restart", bridge, timeout=120)

    # 3. The broker restarts: the bridge reconnects by itself and keeps ingesting.
    publisher.close()
    mosquitto.stop()
    mosquitto.start()
    publisher = Publisher(mosquitto.url)
    for m in range(3):
        publisher.publish(topic, _heartbeats("after-broker-restart", m, 10))
    _wait(lambda: count() == expected + 30, "the events after the broker restart", bridge, timeout=90)
    publisher.close()

    time.sleep(1)  # nothing more trickles in: each event once
    assert count() == expected + 30
    assert SensorEvent.objects.values("vendor_event_id").distinct().count() == expected + 30
    assert bridge.output().count("mqtt: connected") >= 3, bridge.output()[-2000:]


@pytest.mark.django_db(transaction=True)
def test_a_message_that_can_never_be_stored_is_rejected_not_retried(world):
    topic = topic_for(world.integration.pk)
    with pytest.raises(Rejected):
        handle_message(topic, b"not json")
    with pytest.raises(Rejected):
        handle_message(topic, b'{"no": "events"}')
    with pytest.raises(Rejected):
        handle_message(topic_for(world.integration.pk + 1000), b'{"events": []}')
    with pytest.raises(Rejected):
        handle_message("elsewhere/1/events", b'{"events": []}')
    world.integration.is_active = False
    world.integration.save()
    with pytest.raises(Rejected):
        handle_message(topic, b'{"events": []}')
    assert SensorEvent.objects.count() == 0


def test_broker_urls():
    assert Broker.parse("mqtt://vendor:p%40ss@broker:1884") == Broker("broker", 1884, "vendor", "p@ss", False)
    assert Broker.parse("mqtts://broker") == Broker("broker", 8883, None, None, True)
    with pytest.raises(ValueError):
        Broker.parse("http://broker")
