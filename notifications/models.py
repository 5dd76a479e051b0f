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


class SubscribeTemplate(models.Model):
    """Which WeChat subscribe-message template carries a kind of notification, and how.

    `fields` maps WeChat's data keys (thing1, time2, phrase3, ...) to a source on the
    notification: "title", "body", "kind", "created_at", "data.<key>", or a literal
    written as "=text". The key's prefix decides the length/format rule (notifications.templates).
    """

    kind = models.CharField("通知类型", max_length=48, unique=True)
    name = models.CharField("模板名称", max_length=64, blank=True)
    template_id = models.CharField("模板ID", max_length=64)
    fields = models.JSONField("字段映射", default=dict, help_text='如 {"thing1": "title", "time2": "created_at"}')
    page = models.CharField("跳转页面", max_length=200, blank=True, help_text="留空则使用站内消息的页面")
    long_term = models.BooleanField("长期订阅", default=False, help_text="长期订阅模板无需逐条授权（仅政务等公共服务类目）")
    is_active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "订阅消息模板"
        verbose_name_plural = "订阅消息模板"

    def __str__(self) -> str:
        return f"{self.kind} → {self.template_id}"


class SubscribeConsent(models.Model):
    """Unused subscribe-message consents of one user for one template (docs/wechat.md: one accept = one message).

    For a long-term template `long_term_active` says whether the user keeps it on; `remaining` is unused.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscribe_consents")
    template_id = models.CharField("模板ID", max_length=64)
    remaining = models.PositiveIntegerField("剩余次数", default=0)
    long_term_active = models.BooleanField("长期订阅已开启", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "订阅消息授权"
        verbose_name_plural = "订阅消息授权"
        constraints = [models.UniqueConstraint(fields=["user", "template_id"], name="consent_one_per_user_template")]


class ConsentGrant(models.Model):
    """One "accept" as reported by one source.

    The mini-program reports the popup's result and WeChat pushes subscribe_msg_popup_event for the
    same tap: a grant from one source that finds an unmatched grant from the other source within
    CONSENT_MATCH_WINDOW is the same tap and is not counted again. `dedupe_key` makes a retried
    push count once.
    """

    class Source(models.TextChoices):
        CLIENT = "client", "小程序上报"
        PUSH = "push", "微信推送"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    template_id = models.CharField(max_length=64)
    source = models.CharField(max_length=8, choices=Source.choices)
    dedupe_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    matched = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "订阅授权记录"
        verbose_name_plural = "订阅授权记录"
        indexes = [models.Index(fields=["user", "template_id", "source", "matched", "created_at"])]


class OutboxMessage(models.Model):
    """One message to deliver through an outside channel, written with the change it reports."""

    class Channel(models.TextChoices):
        WECHAT = "wechat", "微信订阅消息"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"  # due at next_attempt_at
        SENDING = "sending", "发送中"  # claimed by a worker until lease_until
        SENT = "sent", "已发送"  # WeChat accepted it (msgid)
        # The request left and no answer came (read timeout, dropped connection, a worker killed
        # mid-send): WeChat may have delivered it and has no idempotency key, so never sent again.
        UNKNOWN = "unknown", "结果未知"
        EXPIRED = "expired", "已过期"  # WeChat stayed unavailable past the deadline
        NO_CONSENT = "no_consent", "用户未授权"  # WeChat answered 43101
        SKIPPED_NO_CONSENT = "skipped_no_consent", "无可用授权"  # never sent: inbox only
        FAILED = "failed", "发送失败"  # WeChat rejected the request itself (bad data/template/page)

    FINAL_STATUSES = (
        Status.SENT,
        Status.UNKNOWN,
        Status.EXPIRED,
        Status.NO_CONSENT,
        Status.SKIPPED_NO_CONSENT,
        Status.FAILED,
    )

    notification = models.ForeignKey(Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_key = models.CharField(max_length=120)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outbox_messages")
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices, default=Channel.WECHAT)
    kind = models.CharField("通知类型", max_length=48)
    openid = models.CharField(max_length=64)
    template_id = models.CharField("模板ID", max_length=64)
    page = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # True when one unused consent was set aside for this message at creation (one-time templates).
    consent_reserved = models.BooleanField(default=False)
    status = models.CharField("状态", max_length=24, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField("截止时间")
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # Set, and committed, just before the request to WeChat leaves; cleared when the row goes back
    # to pending. A lease that runs out with this set means the send may have happened.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    swept_at = models.DateTimeField(null=True, blank=True)  # last re-enqueued by the sweep
    msgid = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "待发消息"
        verbose_name_plural = "待发消息"
        constraints = [
            models.UniqueConstraint(fields=["event_key", "recipient", "channel"], name="outbox_once_per_event_recipient_channel")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["status", "lease_until"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.event_key}→{self.recipient_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """Each try at sending an outbox message, and what came of it."""

    class Outcome(models.TextChoices):
        SENT = "sent", "已发送"
        UNAVAILABLE = "unavailable", "微信不可用"
        QUOTA = "quota", "今日额度已用完"
        NO_CONSENT = "no_consent", "用户未授权"
        BAD_REQUEST = "bad_request", "请求被拒"
        UNKNOWN = "unknown", "结果未知"
        ERROR = "error", "其他错误"

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    errcode = models.IntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "发送记录"
        verbose_name_plural = "发送记录"


class ChannelPause(models.Model):
    """A channel that must not send until `paused_until` (45009: daily quota spent).

    In the database, not the cache: every worker process must see it, and the embedded
    default cache is per process.
    """

    channel = models.CharField(max_length=16, unique=True)
    paused_until = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "渠道暂停"
        verbose_name_plural = "渠道暂停"
