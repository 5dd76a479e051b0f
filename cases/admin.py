from django.contrib import admin

from cases.models import Case, CaseEvent, CaseJoint, ResponsibleUnit


@admin.register(ResponsibleUnit)
class ResponsibleUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "region", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    raw_id_fields = ("region", "parent")
    filter_horizontal = ("members",)


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ("created_at", "kind", "actor", "from_status", "to_status", "from_unit", "to_unit", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False


class CaseJointInline(admin.TabularInline):
    model = CaseJoint
    fields = ("created_at", "unit", "requested_by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-only: every move goes through cases.actions so it has a timeline row."""

    list_display = ("id", "kind", "status", "unit", "neighborhood", "due_at", "created_at")
    list_filter = ("kind", "status")
    inlines = [CaseJointInline, CaseEventInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
