"""The signature on a vendor's push (docs/sensors.md, Ingestion): HMAC-SHA256 with the
integration's secret over `timestamp + "." + raw body`, hex in `X-Sensor-Signature`, the Unix
timestamp in `X-Sensor-Timestamp`, the integration's id in `X-Sensor-Integration`. A timestamp
outside ±SENSOR_REPLAY_WINDOW_SECONDS is refused, so a captured push cannot be replayed later
(inside the window a replay stores nothing new: events are idempotent by their ids)."""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings

from core.errors import NotAuthenticated
from sensors.models import Integration


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(*, integration_id: str, timestamp: str, signature: str, body: bytes, now: float | None = None) -> Integration:
    """The integration whose secret signed this body, or 401 (one message whatever failed, so a
    prober learns nothing about which integrations exist)."""
    bad = NotAuthenticated("bad_signature", "签名校验失败")
    if not (integration_id.isdigit() and len(integration_id) <= 18 and timestamp.isdigit() and len(timestamp) <= 12
            and signature):
        raise bad
    window = settings.SENSOR_REPLAY_WINDOW_SECONDS
    if abs((now if now is not None else time.time()) - int(timestamp)) > window:
        raise NotAuthenticated("timestamp_expired", f"时间戳超出允许范围（±{window}秒）", window_seconds=window)
    integration = Integration.objects.filter(pk=int(integration_id), is_active=True).first()
    if integration is None:
        raise bad
    if not hmac.compare_digest(sign(integration.secret, timestamp, body), signature.strip().lower()):
        raise bad
    return integration
