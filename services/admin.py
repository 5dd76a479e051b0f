from django.contrib import admin

from services.models import (
    ProviderOrganization,
    ServiceCategory,
    ServiceItem,
    ServicePlan,
    ServiceRating,
    ServiceRequest,
    ServiceRequestEvent,
)


class ServiceItemInline(admin.TabularInline):
    model = ServiceItem
    fields = ("code", "name", "min_age", "accept_within", "complete_within", "default_provider", "is_active", "sort_order")
    extra = 0
    show_change_link = True


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    inlines = [ServiceItemInline]


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "min_age", "accept_within", "complete_within", "default_provider", "allows_plan", "is_active")
    list_filter = ("category", "is_active", "allows_plan")
    search_fields = ("name", "code")
    raw_id_fields = ("default_provider",)


@admin.register(ProviderOrganization)
class ProviderOrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "street", "phone", "is_active")
    raw_id_fields = ("street",)
    filter_horizontal = ("members",)


class ServiceRequestEventInline(admin.TabularInline):
    model = ServiceRequestEvent
    fields = ("created_at", "kind", "actor", "from_status", "to_status", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "item", "beneficiary_name", "neighborhood", "status", "accept_due_at", "complete_due_at", "escalated_at")
    list_filter = ("status", "item__category")
    raw_id_fields = ("item", "requester", "beneficiary", "neighborhood", "street", "assigned_org", "assigned_user", "plan", "created_by")
    exclude = ("address", "health_note")  # encrypted; full views go through the logged API
    inlines = [ServiceRequestEventInline]


@admin.register(ServicePlan)
class ServicePlanAdmin(admin.ModelAdmin):
    list_display = ("id", "item", "requester", "frequency", "start_date", "end_date", "status")
    list_filter = ("status", "frequency")
    raw_id_fields = ("item", "requester", "beneficiary", "neighborhood", "street")


@admin.register(ServiceRating)
class ServiceRatingAdmin(admin.ModelAdmin):
    list_display = ("request", "score", "comment", "created_at")
    raw_id_fields = ("request", "rater")
