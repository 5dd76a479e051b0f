"""The MQTT transport (docs/sensors.md, Ingestion over MQTT): `manage.py mqtt_bridge` subscribes
to `<MQTT_TOPIC_PREFIX>/<integration id>/events` (`stq/+/events`) on the broker at MQTT_URL and
hands each message to the same function as the HTTP push (sensors.actions.ingest.do_ingest_batch).

- **No signature on a message**: a message may wait in the broker for days while the bridge is
  away, so a replay window cannot apply; the broker authenticates the vendor (a user per vendor)
  and its ACL lets that user publish only to its own integration's topic. The bridge still
  refuses a topic whose integration is unknown or switched off.
- **Nothing lost**: QoS 1 on a persistent session (MQTT 5, clean_start false, a session expiry
  of MQTT_SESSION_EXPIRY_SECONDS, a fixed client id MQTT_CLIENT_ID), so the broker queues what is
  published while the bridge is down; and a message is acknowledged (paho's manual_ack) only
  after its batch is committed, so a bridge killed mid-message gets it again and the vendor's
  event ids absorb the duplicate. A message that can never be stored (not JSON, not a batch,
  too large, unknown integration) is logged and acknowledged, or it would come back forever. A
  database error is not acknowledged: the bridge drops the connection, so the broker delivers
  the message again after the reconnect.
- **Reconnects** with backoff (1 s doubling to 30 s) when the broker goes away.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from core.errors import InvalidInput
from sensors.actions.ingest import do_ingest_batch
from sensors.models import Integration

logger = logging.getLogger(__name__)

QOS = 1


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Broker:
        """`mqtt://[user:password@]host[:port]`, or `mqtts://…` for TLS (port 8883 by default)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"MQTT_URL must look like mqtt://user:password@host:1883, not {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname, port=parts.port or (8883 if tls else 1883),
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None, tls=tls,
        )


def topic_for(integration_id: int, prefix: str | None = None) -> str:
    return f"{prefix or settings.MQTT_TOPIC_PREFIX}/{integration_id}/events"


def subscription(prefix: str | None = None) -> str:
    return f"{prefix or settings.MQTT_TOPIC_PREFIX}/+/events"


class Rejected(Exception):
    """A message that can never be stored: acknowledged and logged, not retried."""


def _integration(topic: str) -> Integration:
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != settings.MQTT_TOPIC_PREFIX or parts[2] != "events" or not parts[1].isdigit():
        raise Rejected(f"unexpected topic {topic!r}")
    integration = Integration.objects.filter(pk=int(parts[1]), is_active=True).first()
    if integration is None:
        raise Rejected(f"no active integration {parts[1]}")
    return integration


def handle_message(topic: str, payload: bytes) -> dict[str, list]:
    """Store one message's batch; the per-event answer as over HTTP. Raises Rejected for a
    message that can never be stored, DatabaseError when it should be tried again."""
    limit = settings.SENSOR_INGEST_MAX_BYTES
    if len(payload) > limit:
        raise Rejected(f"payload of {len(payload)} bytes over {limit}")
    integration = _integration(topic)
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise Rejected("payload is not JSON") from None
    try:
        return do_ingest_batch(integration, body)
    except InvalidInput as exc:
        raise Rejected(f"not a batch: {exc}") from None


class Bridge:
    """One paho client on a persistent session; callbacks run in the thread of `run()`."""

    def __init__(self, url: str, *, client_id: str | None = None, stdout=None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.broker = Broker.parse(url)
        self.stdout = stdout
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or settings.MQTT_CLIENT_ID,
            protocol=mqtt.MQTTv5, manual_ack=True,
        )
        if self.broker.username:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            self.client.tls_set()
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.properties = Properties(PacketTypes.CONNECT)
        self.properties.SessionExpiryInterval = settings.MQTT_SESSION_EXPIRY_SECONDS
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.handled = 0
        self._stopping = False

    def _say(self, text: str) -> None:
        logger.info(text)
        if self.stdout is not None:
            self.stdout.write(text)
            self.stdout.flush()

    def _on_connect(self, client, _userdata, flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self._say(f"mqtt: connect refused: {reason_code}")
            return
        self._say(f"mqtt: connected to {self.broker.host}:{self.broker.port} (session present: {flags.session_present})")
        client.subscribe(subscription(), qos=QOS)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._say(f"mqtt: disconnected ({reason_code}); reconnecting")

    def _on_message(self, client, _userdata, message) -> None:
        close_old_connections()
        try:
            answer = handle_message(message.topic, message.payload)
        except Rejected as exc:
            logger.warning("mqtt: message on %s dropped: %s", message.topic, exc)
        except DatabaseError:
            # Not acknowledged: reconnecting makes the broker deliver it again.
            logger.exception("mqtt: database error on %s; will be delivered again", message.topic)
            close_old_connections()
            client.disconnect()
            return
        else:
            logger.info("mqtt: %s accepted=%d duplicate=%d refused=%d", message.topic,
                        len(answer["accepted"]), len(answer["duplicate"]), len(answer["refused"]))
        client.ack(message.mid, message.qos)  # after the commit
        self.handled += 1

    def run(self) -> None:
        """Connect (retrying until the broker answers) and serve until `stop()`; paho reconnects
        by itself when the broker goes away, this loop when we dropped the connection ourselves."""
        delay = 1.0
        while not self._stopping:
            # clean_start=False every time: resume the session and the messages the broker kept.
            self.client.connect_async(
                self.broker.host, self.broker.port, keepalive=30, clean_start=False, properties=self.properties,
            )
            self.client.loop_forever(retry_first_connection=True)
            if not self._stopping:
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
