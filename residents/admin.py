from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from residents.actions import do_ban_user, do_unban_user
from residents.models import (
    Beneficiary,
    Membership,
    PartyIdentityRequest,
    PersonalInfoConsent,
    Region,
    Role,
    SensitiveAccessLog,
    User,
)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "code", "parent", "households", "population", "registered_party_members")
    list_filter = ("level",)
    search_fields = ("name", "code")
    raw_id_fields = ("parent",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "nickname", "openid", "is_staff", "is_banned", "date_joined")
    search_fields = ("username", "nickname", "openid")
    list_filter = ("is_banned", "is_staff", "is_superuser")
    fieldsets = BaseUserAdmin.fieldsets + (("微信", {"fields": ("openid", "unionid", "nickname", "avatar_url", "is_banned")}),)
    # Banning must also revoke tokens, so it goes through the action, not the checkbox alone.
    readonly_fields = ("is_banned",)
    actions = ["ban_users", "unban_users"]

    @admin.action(description="封禁所选用户（立即吊销全部登录凭证）")
    def ban_users(self, request, queryset):
        for user_id in queryset.values_list("pk", flat=True):
            do_ban_user(user_id=user_id, actor=request.user)
        self.message_user(request, f"已封禁 {queryset.count()} 个用户", messages.SUCCESS)

    @admin.action(description="解除封禁（需重新登录）")
    def unban_users(self, request, queryset):
        for user_id in queryset.values_list("pk", flat=True):
            do_unban_user(user_id=user_id, actor=request.user)
        self.message_user(request, f"已解除封禁 {queryset.count()} 个用户", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "neighborhood", "building", "status", "is_current", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("user", "neighborhood", "building_group", "decided_by")
    exclude = ("room",)  # encrypted; not shown in the admin


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "region", "title", "granted_at", "revoked_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "region", "granted_by")


@admin.register(PartyIdentityRequest)
class PartyIdentityRequestAdmin(admin.ModelAdmin):
    list_display = ("user", "neighborhood", "party_branch", "status", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("user", "neighborhood", "decided_by")


@admin.register(Beneficiary)
class BeneficiaryAdmin(admin.ModelAdmin):
    list_display = ("name", "relation", "owner", "neighborhood", "birth_year")
    raw_id_fields = ("owner", "neighborhood", "filed_by_staff")
    exclude = ("phone", "address", "health_notes")


@admin.register(PersonalInfoConsent)
class PersonalInfoConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "purpose", "text_version", "granted_at", "withdrawn_at")
    raw_id_fields = ("user",)


@admin.register(SensitiveAccessLog)
class SensitiveAccessLogAdmin(admin.ModelAdmin):
    list_display = ("viewer", "subject_label", "field", "screen", "viewed_at")
    list_filter = ("field",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
