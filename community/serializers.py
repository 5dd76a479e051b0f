"""Input and output shapes of the feed API (one small serializer per job)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from community.actions import COMMENT_ACTIONS, POST_ACTIONS
from community.models import AnswererRole, Report, sections
from community.queries import badges_of
from images.pipeline import absolute_url

# ---- input -----------------------------------------------------------------------------


class ImageUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG / PNG / WEBP")


class PostCreateInput(serializers.Serializer):
    neighborhood_id = serializers.IntegerField(required=False, allow_null=True, help_text="发到哪个居委/村")
    broadcast_region_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="街道/区干部：向整个街道或全区发布公告（一条记录）"
    )
    section = serializers.CharField(max_length=24)
    title = serializers.CharField(max_length=60)
    body = serializers.CharField(max_length=2000)
    image_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=9)

    def validate(self, attrs):
        if attrs.get("neighborhood_id") is None and attrs.get("broadcast_region_id") is None:
            raise serializers.ValidationError({"neighborhood_id": "必须指定 neighborhood_id 或 broadcast_region_id"})
        if attrs.get("neighborhood_id") is not None and attrs.get("broadcast_region_id") is not None:
            raise serializers.ValidationError({"broadcast_region_id": "不能同时指定两者"})
        return attrs


class PostEditInput(serializers.Serializer):
    title = serializers.CharField(max_length=60, required=False)
    body = serializers.CharField(max_length=2000, required=False)
    image_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=9)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"body": "没有要修改的内容"})
        return attrs


class CommentCreateInput(serializers.Serializer):
    body = serializers.CharField(max_length=500)
    parent_id = serializers.IntegerField(required=False, allow_null=True)
    official = serializers.BooleanField(required=False, default=False, help_text="居委/街道的官方回复")


class ReportInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class PostModerationInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=POST_ACTIONS)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class CommentModerationInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=COMMENT_ACTIONS)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class MuteInput(serializers.Serializer):
    user_id = serializers.IntegerField()
    hours = serializers.IntegerField(min_value=1, max_value=24 * 90)
    reason = serializers.CharField(max_length=200)


class FeedQueryInput(serializers.Serializer):
    section = serializers.CharField(required=False, allow_blank=True)
    cursor = serializers.CharField(required=False, allow_blank=True)
    limit = serializers.CharField(required=False)


# ---- output ----------------------------------------------------------------------------


class BadgeOutput(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(help_text="党员 / 楼组长 / 居委 / 街道")
    title = serializers.CharField()


class AuthorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    avatar_url = serializers.CharField()
    badges = serializers.SerializerMethodField()

    @extend_schema_field(BadgeOutput(many=True))
    def get_badges(self, user):
        return badges_of(user)


class ImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="passed 之前只有上传者能看到")
    thumbnail_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()

    def get_thumbnail_url(self, image) -> str:
        return absolute_url(image.thumbnail.name)

    def get_url(self, image) -> str:
        return absolute_url(image.file.name)


class ThumbnailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    thumbnail_url = serializers.SerializerMethodField()

    def get_thumbnail_url(self, image) -> str:
        return absolute_url(image.thumbnail.name)


class RegionRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()


def section_name(key: str) -> str:
    return next((s["name"] for s in sections() if s["key"] == key), key)


class PostOutput(serializers.Serializer):
    """A feed item: thumbnails only."""

    id = serializers.IntegerField()
    region = RegionRefOutput()
    scope = serializers.CharField(help_text="neighborhood / street / district（后两者为广播公告）")
    section = serializers.CharField()
    section_name = serializers.SerializerMethodField()
    title = serializers.CharField()
    body = serializers.CharField()
    status = serializers.CharField()
    author = AuthorOutput()
    images = serializers.SerializerMethodField()
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()
    is_pinned = serializers.BooleanField()
    comments_closed = serializers.BooleanField()
    needs_answer = serializers.BooleanField()
    answered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)

    def get_section_name(self, post) -> str:
        return section_name(post.section)

    @extend_schema_field(ThumbnailOutput(many=True))
    def get_images(self, post):
        return ThumbnailOutput([link.image for link in post.visible_images], many=True).data


class AnswererOutput(serializers.Serializer):
    """Who answered: the staff member's shown name and capacity, nothing personal."""

    name = serializers.CharField()
    role = serializers.CharField(help_text="committee_staff / street_officer / district_admin")
    role_label = serializers.CharField(help_text="居委 / 街道 / 区")


class PostAnswerOutput(PostOutput):
    """A post with its 发帖必响应 service level (detail, staff queue, the author's own list)."""

    answer_due_at = serializers.DateTimeField(allow_null=True, help_text="应回应时限；无需回应的帖子为 null")
    answered_by = serializers.SerializerMethodField()
    response_minutes = serializers.IntegerField(allow_null=True, help_text="从发帖到首个官方回复的分钟数")
    is_overdue = serializers.SerializerMethodField(help_text="超过时限仍未回应，或回应晚于时限")

    @extend_schema_field(AnswererOutput(allow_null=True))
    def get_answered_by(self, post):
        if post.answered_at is None:
            return None
        answerer = post.answered_by
        role = post.answered_by_role or AnswererRole.COMMITTEE_STAFF
        return {
            "name": answerer.display_name if answerer is not None else "已注销用户",
            "role": role,
            "role_label": AnswererRole(role).label,
        }

    def get_is_overdue(self, post) -> bool:
        return post.is_answer_overdue_at(self.context.get("now") or timezone.now())


class PostDetailOutput(PostAnswerOutput):
    """The detail: full images, and what the viewer may do."""

    can_edit = serializers.SerializerMethodField()
    can_moderate = serializers.SerializerMethodField()

    @extend_schema_field(ImageOutput(many=True))
    def get_images(self, post):
        return ImageOutput([link.image for link in post.visible_images], many=True).data

    def get_can_edit(self, post) -> bool:
        return post.can_edit(self.context["viewer"])

    def get_can_moderate(self, post) -> bool:
        from community.access import can_moderate_post

        return can_moderate_post(self.context["viewer"], post)


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    post_id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    body = serializers.CharField()
    status = serializers.CharField()
    is_official = serializers.BooleanField()
    author = AuthorOutput()
    created_at = serializers.DateTimeField()


class MyPostOutput(PostAnswerOutput):
    """One of the author's own posts: any status but deleted, with why it is not public."""

    hidden_by_reports = serializers.BooleanField()


class QueuePostOutput(PostOutput):
    open_report_count = serializers.IntegerField()
    hidden_by_reports = serializers.BooleanField()


class QueueCommentOutput(CommentOutput):
    open_report_count = serializers.IntegerField()
    hidden_by_reports = serializers.BooleanField()


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    post_id = serializers.IntegerField()
    comment_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class LikeOutput(serializers.Serializer):
    liked = serializers.BooleanField()
    like_count = serializers.IntegerField()


class MuteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    neighborhood_id = serializers.IntegerField()
    until = serializers.DateTimeField()
    reason = serializers.CharField()


class UserRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class MuteListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user = UserRefOutput()
    neighborhood_id = serializers.IntegerField()
    until = serializers.DateTimeField()
    reason = serializers.CharField()
    is_active = serializers.SerializerMethodField()
    created_by = UserRefOutput()
    created_at = serializers.DateTimeField()

    def get_is_active(self, mute) -> bool:
        return mute.until > timezone.now()


class ModerationLogOutput(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    post_id = serializers.IntegerField(allow_null=True)
    comment_id = serializers.IntegerField(allow_null=True)
    target_user_id = serializers.IntegerField(allow_null=True)
    snapshot = serializers.JSONField()
    created_at = serializers.DateTimeField()


class SectionOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    staff_only = serializers.BooleanField()


def page_serializer(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {"results": item(many=True), "next_cursor": serializers.CharField(allow_null=True)},
    )


FeedPageOutput = page_serializer("FeedPage", PostOutput)
UnansweredPageOutput = page_serializer("UnansweredPostPage", PostAnswerOutput)
MyPostPageOutput = page_serializer("MyPostPage", MyPostOutput)
MutePageOutput = page_serializer("MutePage", MuteListOutput)
CommentPageOutput = page_serializer("CommentPage", CommentOutput)
QueuePostPageOutput = page_serializer("ModerationQueuePostPage", QueuePostOutput)
QueueCommentPageOutput = page_serializer("ModerationQueueCommentPage", QueueCommentOutput)
