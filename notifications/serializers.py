from __future__ import annotations

from rest_framework import serializers

from notifications.actions import CONSENT_RESULTS
from notifications.models import Event, Notification, SubscribeConsent


class NotificationOut(serializers.ModelSerializer):
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "page", "data", "created_at", "read_at", "is_read"]

    def get_is_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class InboxOut(serializers.Serializer):
    results = NotificationOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    unread_count = serializers.IntegerField()


class ReadAllOut(serializers.Serializer):
    updated = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class ConsentResultsIn(serializers.Serializer):
    results = serializers.DictField(
        child=serializers.ChoiceField(choices=CONSENT_RESULTS),
        allow_empty=False,
        help_text="wx.requestSubscribeMessage 的返回：{模板ID: accept|reject|ban|filter}",
    )

    def validate_results(self, value: dict) -> dict:
        if len(value) > 20:
            raise serializers.ValidationError("一次最多 20 个模板")
        for template_id in value:
            if not template_id or len(template_id) > 64:
                raise serializers.ValidationError("模板ID无效")
        return value


class ConsentOut(serializers.ModelSerializer):
    class Meta:
        model = SubscribeConsent
        fields = ["template_id", "remaining", "long_term_active", "updated_at"]
        ref_name = "SubscribeConsentOut"  # residents has a ConsentOut (PIPL consents) too


class ConsentsOut(serializers.Serializer):
    consents = ConsentOut(many=True)


class EventOut(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "stream", "type", "payload", "created_at"]


class EventsOut(serializers.Serializer):
    results = EventOut(many=True)
    last_id = serializers.IntegerField(help_text="下次请求用作 since")
    has_more = serializers.BooleanField()


class EventsQueryIn(serializers.Serializer):
    stream = serializers.CharField(max_length=90)
    since = serializers.IntegerField(min_value=0, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class TemplateOut(serializers.Serializer):
    kind = serializers.CharField(help_text="通知类型，如 service_request_status")
    template_id = serializers.CharField(help_text="传给 wx.requestSubscribeMessage 的 tmplIds（不同类型可共用一个模板）")
    title = serializers.CharField(source="name", help_text="模板标题，如 服务进度通知")
    long_term = serializers.BooleanField(help_text="长期订阅：一次授权长期有效；否则每次授权只能发送一条")


class TemplatesOut(serializers.Serializer):
    templates = TemplateOut(many=True)
