"""The in-app inbox and the realtime event log.

Other apps never write these rows directly: they call notifications.actions.do_notify
and notifications.realtime.publish_on_commit.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Notification(models.Model):
    """One inbox entry per recipient. Every push also lands here."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类型", max_length=48)
    title = models.CharField("标题", max_length=64)
    body = models.CharField("内容", max_length=500, blank=True)
    page = models.CharField("小程序页面", max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # What caused it, e.g. "service_request:12:accepted"; one notification per (event, recipient).
    event_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "站内消息"
        verbose_name_plural = "站内消息"
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event_key"], name="notification_once_per_event_recipient")
        ]
        indexes = [models.Index(fields=["recipient", "-id"]), models.Index(fields=["recipient", "read_at"])]


class Event(models.Model):
    """A realtime event, stored so a client that was away can resync with ?since=<id>."""

    stream = models.CharField(max_length=64)
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "实时事件"
        verbose_name_plural = "实时事件"
        indexes = [models.Index(fields=["stream", "id"])]
