"""`manage.py sensor_standin`: a vendor's platform pushing its devices' events, for `make run`,
the tests and the bench (docs/sensors.md, The device stand-in; the scenarios are in
sensors/management/standin.py).

It replays the last `--hours` of simulated time `--speed` times faster than real time, then keeps
going in real time (or stops, with `--until-now`). Each simulated 10 minutes is one signed batch
over HTTP; with `--mqtt-url` every other batch is published to the integration's topic instead.
Every `--resend-every`th batch is sent a second time, as a vendor resending a batch does.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sensors.management.standin import Simulation
from sensors.models import Device, Integration
from sensors.signature import sign

TICK = dt.timedelta(minutes=10)


class Command(BaseCommand):
    help = "感知设备模拟器：按时间压缩回放并持续推送设备事件（HTTP，提供 MQTT 地址时兼走 MQTT）"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="the server's base URL")
        parser.add_argument("--mqtt-url", default="", help="a broker to publish every other batch to (mqtt://host:port)")
        parser.add_argument("--vendor", default="demo", help="the integration's vendor code (default: the demo's)")
        parser.add_argument("--devices", type=int, default=0, help="drive only the first N of the vendor's devices")
        parser.add_argument("--hours", type=float, default=24.0, help="simulated hours to replay up to now")
        parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second while replaying")
        parser.add_argument("--stop-hours", type=float, default=10.0, help="the elder who stops moving: silent for these last hours")
        parser.add_argument("--resend-every", type=int, default=5, help="resend every Nth batch (0: never)")
        parser.add_argument("--until-now", action="store_true", help="stop once the replay reaches the present")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **o) -> None:
        integration = Integration.objects.filter(vendor=o["vendor"], is_active=True).order_by("pk").first()
        if integration is None:
            raise CommandError(f"no active integration for vendor {o['vendor']!r} (run manage.py load_demo)")
        devices = list(Device.objects.filter(vendor=o["vendor"]).exclude(state=Device.State.RETIRED).order_by("pk"))
        if o["devices"]:
            devices = devices[: o["devices"]]
        if not devices:
            raise CommandError(f"vendor {o['vendor']!r} has no devices")
        now = timezone.now()
        homes = sorted({d.home_id for d in devices if d.home_id and d.kind in (Device.Kind.INFRARED, Device.Kind.DOOR)})
        smokes = [d.vendor_device_id for d in devices if d.kind == Device.Kind.SMOKE]
        sim = Simulation(
            devices=devices, start=now - dt.timedelta(hours=o["hours"]), seed=o["seed"],
            stop_home=homes[-1] if homes else None, stop_at=now - dt.timedelta(hours=o["stop_hours"]),
            night_alarm=smokes[0] if smokes else None, dying_battery=smokes[-1] if smokes else None,
        )
        sender = Sender(integration, o["url"], o["mqtt_url"], self.stdout)
        self.stdout.write(f"sensor_standin: {len(devices)} devices of {o['vendor']}, replaying {o['hours']}h at x{o['speed']:g}")
        clock, batches = sim.start, 0
        try:
            while True:
                real_now = timezone.now()
                last = False
                if clock + TICK <= real_now:
                    upto = clock + TICK  # replaying (or a whole tick of live time has passed)
                elif o["until_now"]:
                    upto, last = real_now, True
                else:
                    time.sleep(min((clock + TICK - real_now).total_seconds(), 5.0))  # live: wait for the tick
                    continue
                events = sim.events_between(clock, upto)
                batches += 1
                if events:
                    sender.totals["generated"] += len(events)  # distinct events, resends not counted
                    sender.send(events, mqtt=bool(o["mqtt_url"]) and batches % 2 == 0)
                    if o["resend_every"] and batches % o["resend_every"] == 0:
                        sender.send(events, mqtt=False)  # the vendor resends: all duplicates
                clock = upto
                if last:
                    break
                if clock + TICK <= timezone.now():  # still replaying: compressed time
                    time.sleep(TICK.total_seconds() / max(o["speed"], 1.0))
        except KeyboardInterrupt:
            pass
        finally:
            sender.close()
        self.stdout.write(f"sensor_standin: done {sender.summary()}")


class Sender:
    def __init__(self, integration: Integration, url: str, mqtt_url: str, stdout) -> None:
        self.integration, self.url, self.stdout = integration, url.rstrip("/") + "/api/v1/sensors/ingest", stdout
        self.totals = {"generated": 0, "accepted": 0, "duplicate": 0, "refused": 0, "published": 0}
        self.session = requests.Session()
        self.mqtt = None
        if mqtt_url:
            import paho.mqtt.client as mqtt

            from sensors.mqtt import Broker, topic_for

            broker = Broker.parse(mqtt_url)
            self.topic = topic_for(integration.pk)
            self.mqtt = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"stq-standin-{integration.pk}",
                                    protocol=mqtt.MQTTv5)
            if broker.username:
                self.mqtt.username_pw_set(broker.username, broker.password)
            self.mqtt.connect(broker.host, broker.port, keepalive=30)
            self.mqtt.loop_start()

    def send(self, events: list[dict], *, mqtt: bool) -> None:
        size = settings.SENSOR_INGEST_MAX_EVENTS
        for i in range(0, len(events), size):
            body = json.dumps({"events": events[i:i + size]}).encode()
            if mqtt and self.mqtt is not None:
                self.mqtt.publish(self.topic, body, qos=1).wait_for_publish(timeout=30)
                self.totals["published"] += len(events[i:i + size])
            else:
                self._post(body)

    def _post(self, body: bytes) -> None:
        delay = 1.0
        while True:
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Sensor-Integration": str(self.integration.pk),
                       "X-Sensor-Timestamp": ts, "X-Sensor-Signature": sign(self.integration.secret, ts, body)}
            try:
                response = self.session.post(self.url, data=body, headers=headers, timeout=30)
            except requests.RequestException as exc:
                self.stdout.write(f"sensor_standin: {exc.__class__.__name__}; retrying in {delay:g}s")
            else:
                if response.status_code == 200:
                    answer = response.json()
                    for key in ("accepted", "duplicate", "refused"):
                        self.totals[key] += len(answer[key])
                    return
                if response.status_code not in (429, 502, 503, 504):
                    # Not worth retrying (a bad signature, a clock far off): said, and the batch dropped.
                    self.stdout.write(f"sensor_standin: ingest answered {response.status_code}: {response.text[:300]}")
                    self.totals["failed"] = self.totals.get("failed", 0) + 1
                    return
                self.stdout.write(f"sensor_standin: ingest answered {response.status_code}; retrying in {delay:g}s")
            time.sleep(delay)
            delay = min(delay * 2, 30.0)

    def summary(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.totals.items())

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.disconnect()
            self.mqtt.loop_stop()
