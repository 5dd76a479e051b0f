"""PIPL export and erasure for the in-app inbox and the per-user event stream (core/pipl.py).

Written by the trust engineer; notifications owns the models.
"""

from __future__ import annotations

from core.pipl import model_rows, register_eraser, register_exporter
from notifications.models import Event, Notification


def export(user) -> dict:
    return {"inbox": model_rows(Notification.objects.filter(recipient=user))}


def erase(user) -> None:
    Notification.objects.filter(recipient=user).delete()
    # user.<id> events repeat inbox titles; nobody can resync that stream any more.
    Event.objects.filter(stream=f"user.{user.pk}").delete()


register_exporter("notifications", export)
register_eraser("notifications", erase)
