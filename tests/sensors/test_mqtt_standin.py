"""The device stand-in against a live server (HTTP) and a broker with the bridge (MQTT): a day
replayed in seconds stores each simulated event once (the resent batches are duplicates), the
smoke alarm at night opens its case, the dying battery gets its maintenance case."""

from __future__ import annotations

import io
import os
import re
import threading
import time

import pytest
from django.core.management import call_command

from sensors.actions.rules import do_check_maintenance
from sensors.models import SensorCase, SensorEvent
from sensors.mqtt import Bridge
from tests.mosquitto_process import mosquitto  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.mqtt]


@pytest.fixture
def broker_url(mosquitto) -> str:  # noqa: F811
    """A mosquitto of the test's own, not CI's shared one (MQTT_URL): persistent sessions other
    tests left on a shared broker must not take part in this count."""
    return mosquitto.url


def _standin(*args: str) -> dict[str, int]:
    out = io.StringIO()
    call_command("sensor_standin", *args, stdout=out)
    summary = out.getvalue().strip().splitlines()[-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", summary)}


@pytest.mark.django_db(transaction=True)
def test_a_replayed_day_over_http_and_mqtt_stores_each_event_once_and_opens_the_cases(world, live_server, broker_url, settings):
    settings.SENSOR_BATTERY_LOW_PERCENT = 20
    bridge = Bridge(broker_url, client_id=f"stq-test-standin-bridge-{os.getpid()}")
    thread = threading.Thread(target=bridge.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not bridge.client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the subscription is sent on connect
    try:
        totals = _standin("--url", live_server.url, "--mqtt-url", broker_url, "--vendor", "acme", "--hours", "30",
                          "--speed", "1000000", "--until-now", "--resend-every", "3")
        # Each distinct event stored once, whichever way it came. Not accepted + published: a resend
        # over HTTP can overtake its batch's MQTT copy, and then the HTTP copy is the one stored.
        expected = totals["generated"]
        deadline = time.monotonic() + 30
        while SensorEvent.objects.count() < expected and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        bridge.stop()
        thread.join(timeout=10)
    assert totals["published"] > 0 and totals["duplicate"] > 0 and totals["refused"] == 0, totals
    assert SensorEvent.objects.count() == expected
    # The smoke sensor alarmed at 02:00 (a 30-hour replay holds one); it is also the dying battery.
    assert SensorCase.objects.filter(device=world.smoke, rule=SensorCase.Rule.ALARM, is_open=True).count() == 1
    world.smoke.refresh_from_db()
    assert world.smoke.battery < 20 and world.smoke.last_heartbeat is not None
    assert do_check_maintenance() >= 1
    assert SensorCase.objects.filter(device=world.smoke, rule=SensorCase.Rule.BATTERY, is_open=True).count() == 1

    # Run again over the same stretch: the same ids, nothing new stored.
    again = _standin("--url", live_server.url, "--vendor", "acme", "--hours", "30", "--speed", "1000000", "--until-now")
    assert again["accepted"] <= 3, again  # only the minutes that passed since the first run
    assert again["duplicate"] > 0


@pytest.mark.django_db
def test_the_demo_seeds_an_integration_and_devices_once(db):
    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo", stdout=io.StringIO())
    from sensors.demo import DEVICES, VENDOR
    from sensors.models import Device, HomeConsent, Integration

    assert Integration.objects.filter(vendor=VENDOR).count() == 1
    assert Device.objects.filter(vendor=VENDOR).count() == len(DEVICES)
    assert HomeConsent.objects.filter(withdrawn_at__isnull=True).count() == 2
