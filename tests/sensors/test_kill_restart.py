"""No event lost, none doubled, each alarm pushed once, when the MQTT bridge or the task worker is
killed with SIGKILL and restarted (issue 18's figure; docs/sensors.md, "Nothing lost, nothing twice").

Real processes on production settings (tests/scale/database.py server_env), on the test's
PostgreSQL database and Redis, against a real mosquitto: `manage.py mqtt_bridge`, django-tasks-db's
`db_worker`, the outbox sweep (`deliver_outbox --loop`, as deployed) and the WeChat stand-in,
which counts the pushes it accepted. Each alarm comes from its own smoke sensor in its own shed,
so each opens its own case and each case's `case_assigned` push is one message to the 居委 member.
Runs where DATABASE_URL is PostgreSQL and REDIS_URL is set (CI's second pass) and mosquitto is
installed.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass

import pytest

from bench.stack import Stack
from notifications.models import OutboxMessage, SubscribeConsent, SubscribeTemplate
from sensors.models import Device, Place, SensorCase, SensorEvent
from sensors.mqtt import topic_for
from tests.mosquitto_process import Publisher, mosquitto  # noqa: F401  (the fixture)
from tests.scale.database import ON_POSTGRES_AND_REDIS, db_worker, server_env, standin_control
from tests.sensors.bridge_process import BridgeProcess, wait
from tests.sensors.conftest import event

pytestmark = [*ON_POSTGRES_AND_REDIS, pytest.mark.mqtt, pytest.mark.slow]

ALARMS = 12
TEMPLATE_ID = "tpl-sensor-alarm"
SEND_PATH = "cgi-bin/message/subscribe/send"


@dataclass
class Rig:
    stack: Stack
    env: dict[str, str]
    standin: str
    bridge: BridgeProcess
    publisher: Publisher
    topic: str
    alarm_devices: list[str]
    member_openid: str

    def pushes(self) -> list[dict]:
        """The subscribe messages WeChat (the stand-in) accepted for the 居委 member."""
        return standin_control(self.standin, "GET", f"messages?openid={self.member_openid}")["messages"]

    def alarm(self, n: int) -> dict:
        return event(f"alarm-{n}", self.alarm_devices[n], "alarm", at=f"2026-03-01T23:{n:02d}:00+08:00")


@pytest.fixture
def rig(world, mosquitto, tmp_path):  # noqa: F811
    alarm_devices = []
    for n in range(ALARMS):
        shed = Place.objects.create(name=f"{n + 1}号车棚", kind=Place.Kind.SHED, region=world.neighborhood)
        device = Device.objects.create(kind=Device.Kind.SMOKE, vendor="acme", vendor_device_id=f"ALM-{n}",
                                       region=world.neighborhood, place=shed)
        alarm_devices.append(device.vendor_device_id)
    SubscribeTemplate.objects.create(kind="case_assigned", name="新诉求待办提醒", template_id=TEMPLATE_ID,
                                     fields={"thing1": "body", "thing2": "title"})
    SubscribeConsent.objects.create(user=world.member, template_id=TEMPLATE_ID, remaining=1000)
    stack = Stack()
    bridge = publisher = None
    try:
        env = server_env()
        env["DATABASE_POOL"] = "false"  # one connection per process, closed between uses: the flush after the test gets through
        # A worker killed mid-send leaves its row leased; 5 s (not 120) so the sweep settles it within the test.
        env["NOTIFICATIONS_OUTBOX_LEASE_SECONDS"] = "5"
        env["WECHAT_API_BASE"] = standin = stack.start_wechat_standin(env)
        standin_control(standin, "POST", "consents", {"openid": world.member.openid, "template_id": TEMPLATE_ID, "count": 1000})
        bridge = BridgeProcess(mosquitto.url, tmp_path, env=env)
        publisher = Publisher(mosquitto.url)
        yield Rig(stack, env, standin, bridge, publisher, topic_for(world.integration.pk), alarm_devices, world.member.openid)
    finally:
        if publisher is not None:
            publisher.close()
        if bridge is not None:
            bridge.stop()
        stack.stop()


def _assert_each_alarm_pushed_once(rig: Rig) -> None:
    assert SensorCase.objects.filter(device__vendor_device_id__in=rig.alarm_devices).count() == ALARMS
    wait(lambda: len(rig.pushes()) >= ALARMS, f"{ALARMS} pushes at WeChat", rig.bridge, timeout=90)
    wait(lambda: not OutboxMessage.objects.exclude(status__in=["sent", "unknown"]).exists(), "every push settled", rig.bridge)
    pages = Counter(message["page"] for message in rig.pushes())  # the page names the case
    assert len(pages) == ALARMS and set(pages.values()) == {1}, pages
    statuses = Counter(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses["sent"] + statuses["unknown"] == ALARMS, statuses
    assert statuses["unknown"] <= 1, statuses  # at most the send in flight when a worker died


@pytest.mark.django_db(transaction=True)
def test_bridge_killed_mid_stream_and_restarted_stores_each_event_once_and_pushes_each_alarm_once(rig):
    db_worker(rig.stack, "db_worker-1", rig.env)
    rig.bridge.start()
    count = SensorEvent.objects.count
    # 40 messages of 50 heartbeats; every fourth also carries an alarm (10 alarms).
    stream = []
    for m in range(40):
        events = [event(f"hb-{m}-{i}", "SMK-1", "heartbeat", at=f"2026-03-01T08:{m:02d}:{i:02d}+08:00") for i in range(50)]
        if m % 4 == 0:
            events.append(rig.alarm(m // 4))
        stream.append(events)
    for events in stream:
        rig.publisher.publish(rig.topic, events)
    wait(lambda: count() > 100, "the stream to start", rig.bridge)
    rig.bridge.kill()
    at_kill = count()
    assert at_kill < 40 * 50 + 10, at_kill  # killed mid-stream
    # While it is down: two more alarms, ordinary events, and a vendor resending a batch.
    for m in range(10):
        events = [event(f"down-{m}-{i}", "SMK-1", "heartbeat", at=f"2026-03-01T09:{m:02d}:{i:02d}+08:00") for i in range(10)]
        if m < 2:
            events.append(rig.alarm(10 + m))
        rig.publisher.publish(rig.topic, events)
    rig.publisher.publish(rig.topic, stream[0])
    rig.bridge.start()
    sent = 40 * 50 + 10 * 10 + ALARMS
    wait(lambda: count() >= sent, f"all {sent} events after the restart", rig.bridge, timeout=120)

    _assert_each_alarm_pushed_once(rig)
    assert count() == sent
    assert SensorEvent.objects.values("vendor_event_id").distinct().count() == sent
    assert "mqtt: connected" in rig.bridge.output() and rig.bridge.starts == 2
    print(f"bridge killed: {at_kill} of {40 * 50 + 10} streamed events stored at the kill; {count()} stored of {sent} sent "
          f"(+{len(stream[0])} resent); {len(rig.pushes())} pushes for {ALARMS} alarms")


@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_alarm_pushes_are_queued_and_restarted_pushes_each_alarm_once(rig):
    rig.bridge.start()
    for n in range(ALARMS):  # no worker yet: every alarm's push waits in the queue
        rig.publisher.publish(rig.topic, [rig.alarm(n)])
    wait(lambda: OutboxMessage.objects.filter(status="pending").count() == ALARMS, "every alarm's push queued", rig.bridge)
    # WeChat takes each message at once and answers a second later, so the worker is slow
    # enough to be killed with pushes still queued, and most likely in the middle of one.
    standin_control(rig.standin, "POST", "faults", {"path": SEND_PATH, "kind": "delay", "delay": 1.0, "after": True})
    db_worker(rig.stack, "db_worker-1", rig.env)
    wait(lambda: len(rig.pushes()) >= 3, "the first worker's first pushes", rig.bridge, timeout=90)
    rig.stack.kill("db_worker-1")
    at_kill = len(rig.pushes())
    assert at_kill < ALARMS, at_kill
    standin_control(rig.standin, "DELETE", "faults")

    db_worker(rig.stack, "db_worker-2", rig.env)
    rig.stack.spawn("sweep", [sys.executable, "manage.py", "deliver_outbox", "--loop", "--interval", "1", "--grace", "1"],
                    env=rig.env)
    _assert_each_alarm_pushed_once(rig)
    assert SensorEvent.objects.filter(type="alarm").count() == ALARMS
    statuses = Counter(OutboxMessage.objects.values_list("status", flat=True))
    print(f"worker killed: {at_kill} of {ALARMS} pushes at WeChat at the kill; after the restart {len(rig.pushes())} "
          f"pushes for {ALARMS} alarms, outbox {dict(statuses)}")
