"""Read models for the inbox, the event log and the subscribe-message templates."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from notifications import kinds
from notifications.access import visible_notifications_for
from notifications.models import Event, Notification, OutboxMessage, SubscribeConsent
from notifications.templates import TemplateSpec, active_templates


def inbox(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    queryset = visible_notifications_for(user)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset


def unread_count(user: Any) -> int:
    return visible_notifications_for(user).filter(read_at__isnull=True).count()


def events_since(stream: str, *, since: int, limit: int) -> tuple[list[Event], bool]:
    """Events of one stream after `since`, oldest first, and whether more follow."""
    rows = list(Event.objects.filter(stream=stream, id__gt=since).order_by("id")[: limit + 1])
    return rows[:limit], len(rows) > limit


def last_event_id(stream: str) -> int:
    return Event.objects.filter(stream=stream).order_by("-id").values_list("id", flat=True).first() or 0


def consents_of(user: Any) -> QuerySet[SubscribeConsent]:
    return SubscribeConsent.objects.filter(user=user).order_by("template_id")


def templates_for(user: Any) -> list[TemplateSpec]:
    """The templates of the kinds this user can receive: what the mini-program asks consent for."""
    return [spec for spec in active_templates() if kinds.is_for(spec.kind, user)]


def outbox_status_counts() -> dict[str, int]:
    """Outbox rows per status, every status present (0 when none), for operators.

    `unknown` is the one to watch: sends WeChat may or may not have delivered (never retried).
    """
    counts = dict.fromkeys(OutboxMessage.Status.values, 0)
    for row in OutboxMessage.objects.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    return counts
