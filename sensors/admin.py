from django.contrib import admin

from sensors.models import Device, HomeConsent, Integration, Place, SensorCase


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "vendor", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "vendor")


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "region")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("region",)


@admin.register(HomeConsent)
class HomeConsentAdmin(admin.ModelAdmin):
    list_display = ("beneficiary_id", "given_by", "method", "given_at", "withdrawn_at")
    list_filter = ("given_by", "method")
    raw_id_fields = ("beneficiary", "recorded_by")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("vendor_device_id", "vendor", "kind", "region", "place", "state", "battery", "last_heartbeat")
    list_filter = ("kind", "state", "vendor")
    search_fields = ("vendor_device_id",)
    raw_id_fields = ("region", "home", "place", "building_group")
    readonly_fields = ("battery", "battery_at", "last_heartbeat", "installed_at")


@admin.register(SensorCase)
class SensorCaseAdmin(admin.ModelAdmin):
    list_display = ("case", "device", "rule", "is_open", "alarm_count", "outcome", "created_at", "closed_at")
    list_filter = ("rule", "is_open", "outcome")
    raw_id_fields = ("case", "device")
    readonly_fields = ("case", "device", "rule", "is_open", "alarm_count", "created_at", "closed_at")
