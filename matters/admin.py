from django.contrib import admin

from matters.models import Matter, MatterCategory, MatterItem, RegionBounds, RoutingRule


class MatterItemInline(admin.TabularInline):
    model = MatterItem
    fields = ("name", "accept_hours", "resolve_hours", "sort_order", "is_active")
    extra = 0


@admin.register(MatterCategory)
class MatterCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    inlines = [MatterItemInline]


@admin.register(MatterItem)
class MatterItemAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "accept_hours", "resolve_hours", "is_active")
    list_filter = ("category", "is_active")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("region", "category", "unit")
    list_filter = ("category",)
    raw_id_fields = ("region", "unit")


@admin.register(RegionBounds)
class RegionBoundsAdmin(admin.ModelAdmin):
    list_display = ("region", "min_lat", "max_lat", "min_lng", "max_lng")
    raw_id_fields = ("region",)


@admin.register(Matter)
class MatterAdmin(admin.ModelAdmin):
    """Read-only: a matter's moves go through the API (cases.actions) so each has a timeline row."""

    list_display = ("id", "item", "neighborhood", "place", "text_status", "supporters_count", "created_at")
    list_filter = ("category", "text_status")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
