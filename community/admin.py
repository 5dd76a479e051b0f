from django.contrib import admin

from community.models import Comment, ModerationLog, Mute, Post, Report


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "region", "section", "author", "status", "is_pinned", "created_at")
    list_filter = ("status", "section", "scope")
    search_fields = ("title",)
    raw_id_fields = ("region", "author", "answered_by")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "post", "author", "status", "is_official", "created_at")
    list_filter = ("status", "is_official")
    raw_id_fields = ("post", "parent", "author")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "post", "comment", "reporter", "reason", "status", "created_at")
    list_filter = ("reason", "status")
    raw_id_fields = ("post", "comment", "reporter")


@admin.register(Mute)
class MuteAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "neighborhood", "until", "reason", "created_by")
    raw_id_fields = ("user", "neighborhood", "created_by")


@admin.register(ModerationLog)
class ModerationLogAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ("id", "action", "actor", "post", "comment", "target_user", "reason", "created_at")
    list_filter = ("action",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
