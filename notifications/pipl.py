"""PIPL export and erasure for the in-app inbox and the per-user event stream (privacy/pipl.py).

Written by the trust engineer; notifications owns the models.
"""

from __future__ import annotations

from notifications.models import ConsentGrant, Event, Notification, OutboxMessage, SubscribeConsent
from privacy.pipl import model_rows, register_eraser, register_exporter


def export(user) -> dict:
    return {
        "inbox": model_rows(Notification.objects.filter(recipient=user)),
        "subscribe_consents": model_rows(SubscribeConsent.objects.filter(user=user)),
        "wechat_messages": model_rows(OutboxMessage.objects.filter(recipient=user)),
    }


def erase(user) -> None:
    # Outbox rows hold the openid and the message text; unsent ones must not go out after erasure.
    OutboxMessage.objects.filter(recipient=user).delete()
    SubscribeConsent.objects.filter(user=user).delete()
    ConsentGrant.objects.filter(user=user).delete()
    Notification.objects.filter(recipient=user).delete()
    # user.<id> events repeat inbox titles; nobody can resync that stream any more.
    Event.objects.filter(stream=f"user.{user.pk}").delete()


register_exporter("notifications", export)
register_eraser("notifications", erase)
