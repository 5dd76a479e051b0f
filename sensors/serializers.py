"""Request and answer shapes of sensors' endpoints, for validation and the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from sensors.models import SensorCase, SensorEvent


class IngestEventIn(serializers.Serializer):
    event_id = serializers.CharField(max_length=64, help_text="厂商事件编号，同一接入内唯一（幂等）")
    device_id = serializers.CharField(max_length=64, help_text="厂商设备编号")
    type = serializers.ChoiceField(choices=SensorEvent.Type.choices)
    occurred_at = serializers.DateTimeField(help_text="带时区的 ISO 8601 时间")
    value = serializers.JSONField(required=False, allow_null=True, help_text="读数；battery 为 0-100 的整数")


class IngestIn(serializers.Serializer):
    events = IngestEventIn(many=True)


class IngestRefusalOut(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    reason = serializers.CharField()


class IngestOut(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.CharField())
    duplicate = serializers.ListField(child=serializers.CharField(), help_text="此前已收到的事件")
    refused = IngestRefusalOut(many=True)


class DeviceImportIn(serializers.Serializer):
    file = serializers.FileField(help_text="厂商设备清单 CSV（UTF-8）")


class DeviceImportOut(serializers.Serializer):
    created = serializers.IntegerField()


class FalseAlarmRateOut(serializers.Serializer):
    device = serializers.IntegerField()
    kind = serializers.CharField()
    vendor = serializers.CharField()
    vendor_device_id = serializers.CharField()
    neighborhood = serializers.IntegerField()
    closed = serializers.IntegerField(help_text="已处置的告警数")
    false_alarms = serializers.IntegerField(help_text="其中误报数")
    rate = serializers.FloatField(help_text="误报率")


class FalseAlarmRatesOut(serializers.Serializer):
    devices = FalseAlarmRateOut(many=True)


class CloseSensorCaseIn(serializers.Serializer):
    false_alarm = serializers.BooleanField(help_text="是否误报")
    answer = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text="处置说明")


class CloseSensorCaseOut(serializers.Serializer):
    case = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=SensorCase.Outcome.choices)
    alarm_count = serializers.IntegerField()
