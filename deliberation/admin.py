from django.contrib import admin

from deliberation.models import Decision, Milestone, Topic, TopicEvent, Vote


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
    list_display = ("title", "neighborhood", "building_group", "category", "status", "outcome", "created_at")
    list_filter = ("status", "category")
    search_fields = ("title",)
    raw_id_fields = ("neighborhood", "building_group", "author", "merged_into")
    # Stages move only through the actions (transition table + event log), never by editing here.
    readonly_fields = ("status", "outcome", "merged_into", "evaluation_summary", "status_changed_at")
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
