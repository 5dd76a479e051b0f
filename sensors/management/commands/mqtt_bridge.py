"""`manage.py mqtt_bridge`: vendors' events from the MQTT broker into the same ingestion as the
HTTP push (sensors.mqtt; docs/sensors.md, Ingestion over MQTT). Runs until SIGTERM / Ctrl-C;
killed outright it loses nothing (messages are acknowledged after their commit)."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sensors.mqtt import Bridge, Broker, subscription


class Command(BaseCommand):
    help = "订阅 MQTT 消息代理，把厂商设备事件写入系统（与 HTTP 推送同一入口）"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="", help="broker URL (default: MQTT_URL)")
        parser.add_argument("--client-id", default="", help="the persistent session's name (default: MQTT_CLIENT_ID)")

    def handle(self, *args, url: str, client_id: str, **options) -> None:
        url = url or settings.MQTT_URL
        if not url:
            raise CommandError("MQTT_URL is not set (or pass --url mqtt://host:1883)")
        try:
            Broker.parse(url)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        bridge = Bridge(url, client_id=client_id or None, stdout=self.stdout)

        def _stop(_signum, _frame) -> None:
            bridge.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.stdout.write(f"mqtt_bridge: subscribing to {subscription()} (QoS 1, persistent session)")
        self.stdout.flush()
        bridge.run()
        self.stdout.write(f"mqtt_bridge: stopped after {bridge.handled} messages")
