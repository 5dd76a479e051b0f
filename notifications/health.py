"""What operations see of the outbox: a /readyz check and a /metrics gauge (core/health.py,
core/metrics.py), registered in NotificationsConfig.ready()."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from core.health import CheckFailed
from notifications.models import OutboxMessage


def check_outbox() -> dict:
    """Pending messages due to be sent: fails when the oldest has waited past
    READINESS_OUTBOX_MAX_LAG_SECONDS (workers not sending, or WeChat refusing for that long)."""
    now = timezone.now()
    due = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
    found = due.aggregate(n=Count("id"), oldest=Min("next_attempt_at"))
    lag = (now - found["oldest"]).total_seconds() if found["oldest"] else 0.0
    limit = settings.READINESS_OUTBOX_MAX_LAG_SECONDS
    if lag > limit:
        raise CheckFailed("outbox behind", due=found["n"], oldest_lag_seconds=round(lag), limit_seconds=limit)
    return {"due": found["n"], "oldest_lag_seconds": round(lag)}


def outbox_by_status():
    """Outbox rows per status (the final ones included: a rise in `failed` or `unknown` is news)."""
    rows = OutboxMessage.objects.order_by().values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in OutboxMessage.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return [((status,), n) for status, n in counts.items()]


def register() -> None:
    from core.health import register_check
    from core.metrics import register_gauge

    register_check("outbox", check_outbox)
    register_gauge("stq_outbox_messages", "Outbox messages per status.", ["status"], outbox_by_status)
