"""The one way apps tell people things."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from notifications.models import Notification
from notifications.realtime import publish_on_commit


def do_notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    page: str = "",
    data: dict[str, Any] | None = None,
    event_key: str,
) -> list[Notification]:
    """Create one inbox entry per recipient for this event (idempotent per (event_key, recipient)),
    and announce each on the recipient's `user.<id>` stream after commit.

    Call inside the transaction of the change being reported, so both commit or neither does.
    """
    recipient_list = {getattr(r, "pk", r): r for r in recipients if r is not None}
    created: list[Notification] = []
    with transaction.atomic():
        existing = set(
            Notification.objects.filter(event_key=event_key, recipient_id__in=recipient_list.keys()).values_list(
                "recipient_id", flat=True
            )
        )
        for user_id in recipient_list:
            if user_id in existing:
                continue
            notification = Notification.objects.create(
                recipient_id=user_id, kind=kind, title=title[:64], body=body[:500], page=page, data=data or {},
                event_key=event_key,
            )
            created.append(notification)
            publish_on_commit(
                f"user.{user_id}",
                "notification.created",
                {"notification_id": notification.id, "kind": kind, "title": notification.title, "page": page},
            )
    return created
