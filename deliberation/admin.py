from django.contrib import admin

from deliberation.models import Decision, Milestone, Topic, TopicContentLog, TopicEvent, TopicReport, Vote


class TopicEventInline(admin.TabularInline):
    model = TopicEvent
    extra = 0
    readonly_fields = ("actor", "from_status", "to_status", "note", "created_at")
    can_delete = False


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    readonly_fields = ("created_by", "updated_at")


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "neighborhood",
        "building_group",
        "category",
        "status",
        "content_status",
        "outcome",
        "created_at",
    )
    list_filter = ("status", "content_status", "category")
    search_fields = ("title",)
    raw_id_fields = ("neighborhood", "building_group", "author", "merged_into")
    # Stages move only through the actions (transition table + event log), never by editing here.
    # Content status likewise moves only through moderation (logged in TopicContentLog).
    readonly_fields = (
        "status",
        "content_status",
        "outcome",
        "merged_into",
        "evaluation_summary",
        "status_changed_at",
    )
    inlines = [MilestoneInline, TopicEventInline]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("topic", "kind", "pass_rule", "unit", "opens_at", "closes_at", "quorum_percent")
    raw_id_fields = ("topic",)


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ("topic", "outcome", "rule", "decided_at")
    raw_id_fields = ("topic", "decided_by")
    readonly_fields = ("outcome", "rule", "tally", "figures", "winning_option", "decided_at")


@admin.register(TopicContentLog)
class TopicContentLogAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ("topic", "reply", "action", "actor", "reason", "created_at")
    list_filter = ("action",)
    raw_id_fields = ("topic", "reply", "actor")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TopicReport)
class TopicReportAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "reply", "reporter", "reason", "status", "created_at")
    list_filter = ("reason", "status")
    raw_id_fields = ("topic", "reply", "reporter")
