from django.contrib import admin

from services.models import (
    ProviderOrganization,
    SatisfactionDaily,
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
    list_filter = ("status", "note_status", "item__category")
    raw_id_fields = (
        "item", "requester", "beneficiary", "neighborhood", "street", "assigned_org", "assigned_user", "plan", "created_by", "case",
    )
    exclude = ("address", "health_note")  # encrypted; full views go through the logged API
    inlines = [ServiceRequestEventInline]


@admin.register(ServicePlan)
class ServicePlanAdmin(admin.ModelAdmin):
    list_display = ("id", "item", "requester", "frequency", "start_date", "end_date", "status")
    list_filter = ("status", "frequency")
    raw_id_fields = ("item", "requester", "beneficiary", "neighborhood", "street")


@admin.register(ServiceRating)
class ServiceRatingAdmin(admin.ModelAdmin):
    list_display = ("request", "score", "comment", "comment_status", "created_at")
    list_filter = ("comment_status",)
    raw_id_fields = ("request", "rater")
    # The score is counted in SatisfactionDaily when given; editing it here would make the two disagree
    # (manage.py rebuild_service_satisfaction reconciles after any manual fix).
    readonly_fields = ("score", "created_at")


@admin.register(SatisfactionDaily)
class SatisfactionDailyAdmin(admin.ModelAdmin):
    list_display = ("date", "item", "provider", "neighborhood", "ratings", "satisfied", "score_sum")
    list_filter = ("date",)
    raw_id_fields = ("item", "provider", "neighborhood", "street")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
