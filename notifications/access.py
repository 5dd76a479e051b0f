"""Whose inbox is whose. Not yours == does not exist (404)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from notifications import streams
from notifications.models import Notification


def visible_notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def access_notification(user: Any, notification_id: int) -> Notification:
    try:
        return visible_notifications_for(user).get(pk=notification_id)
    except Notification.DoesNotExist:
        raise NotFound("notification_not_found", "消息不存在") from None


def access_stream(user: Any, stream: str) -> str:
    """The stream name if the user may read it; else NotFound (a stream you may not read does not exist)."""
    if not streams.can_read(user, stream):
        raise NotFound("stream_not_found", "订阅的频道不存在")
    return stream
