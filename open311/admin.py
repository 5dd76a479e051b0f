"""Partner keys in the admin. A new key is made by `open311.keys.do_create_partner_key` and
shown once, in the message after saving; only its keyed hash is stored."""

import secrets

from django.contrib import admin, messages

from open311.keys import KEY_PREFIX, hash_key
from open311.models import PartnerKey, PartnerRequest, ServiceAttribute


@admin.register(PartnerKey)
class PartnerKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "may_file", "is_active", "created_at", "last_used_at")
    list_filter = ("may_file", "is_active")
    filter_horizontal = ("regions",)
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
    fields = ("name", "regions", "may_file", "is_active", "key_prefix", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        if not change:
            raw = KEY_PREFIX + secrets.token_urlsafe(32)
            obj.key_prefix, obj.key_hash = raw[:10], hash_key(raw)
            messages.warning(request, f"新的 api_key（只显示这一次，请立即交给合作方）：{raw}")
        super().save_model(request, obj, form, change)


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(admin.ModelAdmin):
    """The questions a partner answers when filing a service (GET services/{code}, docs/open311.md)."""

    list_display = ("item", "order", "code", "description", "datatype", "required", "is_active")
    list_filter = ("datatype", "required", "is_active")
    list_select_related = ("item__category",)
    raw_id_fields = ("item",)


@admin.register(PartnerRequest)
class PartnerRequestAdmin(admin.ModelAdmin):
    list_display = ("matter", "key", "created_at")
    readonly_fields = ("attributes",)
    list_filter = ("key",)
    raw_id_fields = ("matter",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
