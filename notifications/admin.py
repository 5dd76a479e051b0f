from django.contrib import admin

from notifications.models import (
    ChannelPause,
    DeliveryAttempt,
    Notification,
    OutboxMessage,
    SubscribeConsent,
    SubscribeTemplate,
)


@admin.register(SubscribeTemplate)
class SubscribeTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "name", "template_id", "page", "long_term", "is_active", "updated_at"]
    list_filter = ["is_active", "long_term"]
    search_fields = ["kind", "name", "template_id"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "kind", "title", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["event_key", "title"]
    raw_id_fields = ["recipient"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ["started_at", "finished_at", "outcome", "errcode", "detail"]
    can_delete = False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "recipient", "status", "attempts", "next_attempt_at", "deadline", "msgid"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["event_key", "openid", "msgid"]
    raw_id_fields = ["recipient", "notification"]
    readonly_fields = ["claim_token", "lease_until", "attempt_started_at", "swept_at", "created_at", "finished_at"]
    inlines = [DeliveryAttemptInline]


@admin.register(SubscribeConsent)
class SubscribeConsentAdmin(admin.ModelAdmin):
    list_display = ["user", "template_id", "remaining", "long_term_active", "updated_at"]
    search_fields = ["template_id", "user__openid"]
    raw_id_fields = ["user"]


@admin.register(ChannelPause)
class ChannelPauseAdmin(admin.ModelAdmin):
    list_display = ["channel", "paused_until", "reason"]
