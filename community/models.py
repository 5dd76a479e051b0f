"""The 社区通 feed: posts, their images, comments, likes, reports, mutes and the moderation log."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from images.models import ImageLink
from moderation import models as moderation
from moderation.models import Moderated, author_may_delete
from residents.models import Region

# Sections of the feed, per deployment (override COMMUNITY_SECTIONS in settings).
# staff_only sections take announcements: committee staff and officers only.
DEFAULT_SECTIONS = [
    {"key": "notice", "name": "社区公告", "staff_only": True},
    {"key": "party", "name": "党建园地", "staff_only": False},
    {"key": "neighbors", "name": "邻里互动", "staff_only": False},
    {"key": "property", "name": "物业之窗", "staff_only": False},
    {"key": "police", "name": "警民直通车", "staff_only": False},
]


def sections() -> list[dict]:
    return list(getattr(settings, "COMMUNITY_SECTIONS", DEFAULT_SECTIONS))


def section_keys() -> list[str]:
    return [s["key"] for s in sections()]


def section_is_staff_only(key: str) -> bool:
    return any(s["key"] == key and s.get("staff_only") for s in sections())


def edit_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "COMMUNITY_EDIT_WINDOW_MINUTES", 30)))


def answer_target(section: str) -> timedelta:
    """发帖必响应: how long staff have to answer a post in this section.

    A section may carry its own `answer_hours` (COMMUNITY_SECTIONS); otherwise
    COMMUNITY_ANSWER_HOURS (default 24) applies.
    """
    hours = next((s.get("answer_hours") for s in sections() if s["key"] == section), None)
    if hours is None:
        hours = getattr(settings, "COMMUNITY_ANSWER_HOURS", 24)
    return timedelta(hours=float(hours))


class AnswererRole(models.TextChoices):
    """Whose answer it was, shown next to the answerer's name (never anything personal)."""

    COMMITTEE_STAFF = "committee_staff", "居委"
    STREET_OFFICER = "street_officer", "街道"
    DISTRICT_ADMIN = "district_admin", "区"


MAX_IMAGES_PER_POST = 9
DEFAULT_REPORT_HIDE_THRESHOLD = 3


class ContentStatus(models.TextChoices):
    PENDING_CHECK = "pending_check", "待审核（内容安全未检）"  # WeChat unreachable; the task re-checks
    PENDING_REVIEW = "pending_review", "待人工审核"  # WeChat said review: a moderator decides
    PUBLISHED = "published", "已发布"
    HIDDEN = "hidden", "已隐藏"  # by a moderator, or by N reports until reviewed
    REMOVED = "removed", "已删除（管理）"
    DELETED = "deleted", "已删除（作者）"


# Which status may follow which (moderation's lifecycle, plus the author's delete); actions check
# this under a row lock.
CONTENT_TRANSITIONS: dict[str, frozenset[str]] = author_may_delete(moderation.CONTENT_TRANSITIONS)

GONE_STATUSES = (ContentStatus.REMOVED, ContentStatus.DELETED)


# The hard ceiling of posts per author per Shanghai day: the literal in the CHECK constraint
# (migration 0002/0003). settings.POST_DAILY_CAP is the cap actually applied, clamped to this;
# raising the ceiling itself needs a migration.
POST_DAILY_CAP_CEILING = 50
SHANGHAI = ZoneInfo("Asia/Shanghai")


def post_daily_cap() -> int:
    return max(1, min(int(getattr(settings, "POST_DAILY_CAP", 20)), POST_DAILY_CAP_CEILING))


def shanghai_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


class Post(Moderated):
    """A post in one 居委/村, or an announcement broadcast to a whole street or district (one row)."""

    Status = ContentStatus
    MODERATION_STATUS_FIELD = "status"
    MODERATION_TRANSITIONS = CONTENT_TRANSITIONS

    class Scope(models.TextChoices):
        NEIGHBORHOOD = "neighborhood", "本居委/村"
        STREET = "street", "全街道/镇"
        DISTRICT = "district", "全区"

    # The neighborhood, or for a broadcast the street / district it reaches.
    region = models.ForeignKey(Region, verbose_name="发布范围", on_delete=models.PROTECT, related_name="posts")
    scope = models.CharField("范围", max_length=16, choices=Scope.choices, default=Scope.NEIGHBORHOOD)
    section = models.CharField("栏目", max_length=24)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="作者", on_delete=models.PROTECT, related_name="posts")
    title = models.CharField("标题", max_length=60)
    body = models.TextField("正文", max_length=2000)
    status = models.CharField("状态", max_length=16, choices=ContentStatus.choices, default=ContentStatus.PENDING_CHECK)
    is_pinned = models.BooleanField("置顶", default=False)
    comments_closed = models.BooleanField("关闭评论", default=False)
    like_count = models.PositiveIntegerField("点赞数", default=0)
    comment_count = models.PositiveIntegerField("评论数", default=0)
    # 发帖必响应: resident posts wait for an official reply; answered_at feeds the dashboards.
    needs_answer = models.BooleanField("需回应", default=False)
    answered_at = models.DateTimeField("回应时间", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="回应人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by_role = models.CharField("回应人身份", max_length=16, choices=AnswererRole.choices, blank=True)
    # The deadline of 发帖必响应 (created_at + answer_target(section)); null when no answer is owed.
    answer_due_at = models.DateTimeField("应回应时限", null=True, blank=True)
    # Set once, by the sweep that tells the street a post went unanswered past its deadline.
    answer_escalated_at = models.DateTimeField("超时上报街道", null=True, blank=True)
    created_at = models.DateTimeField("发布时间", default=timezone.now)
    edited_at = models.DateTimeField("编辑时间", null=True, blank=True)
    images = models.ManyToManyField("images.Image", through="PostImage", related_name="posts")
    # The daily cap as data: the n-th post of an author on a Shanghai day has seq n, and
    # (author, day, seq) is unique, so two racing creates cannot both take the last slot.
    author_day = models.DateField("发帖日", editable=False)
    author_day_seq = models.PositiveSmallIntegerField("当日序号", editable=False)

    class Meta:
        verbose_name = "帖子"
        verbose_name_plural = "帖子"
        constraints = [
            models.UniqueConstraint(fields=["author", "author_day", "author_day_seq"], name="post_author_day_seq_unique"),
            models.CheckConstraint(
                condition=Q(author_day_seq__gte=1) & Q(author_day_seq__lte=POST_DAILY_CAP_CEILING),
                name="post_author_day_seq_range",
            ),
        ]
        indexes = [
            # The feed: region IN (neighborhood, street, district), status, then the keyset ordering.
            models.Index(fields=["region", "status", "-is_pinned", "-created_at", "-id"], name="post_feed"),
            models.Index(fields=["region", "section", "status", "-is_pinned", "-created_at", "-id"], name="post_feed_section"),
            # The staff queue of 发帖必响应: unanswered posts by deadline, so the overdue come first.
            models.Index(fields=["region", "needs_answer", "answered_at", "answer_due_at", "id"], name="post_unanswered_due"),
            # The author's own posts, newest first (GET /me/posts).
            models.Index(fields=["author", "-created_at", "-id"], name="post_author_recent"),
            models.Index(fields=["status", "created_at"], name="post_status"),
            # The feed's "my posts still being checked" source: a handful of rows, not an author's history.
            models.Index(
                fields=["author", "region"],
                condition=Q(status__in=["pending_check", "pending_review"]),
                name="post_author_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # community.actions.do_create_post assigns the slot and applies the cap; rows made any
        # other way (admin, demo seed, fixtures) take the next slot here, bounded only by the
        # ceiling constraint.
        if self._state.adding and self.author_day_seq is None:
            self.author_day = shanghai_day(self.created_at)
            self.author_day_seq = next_author_day_seq(self.author_id, self.author_day)
        if self._state.adding and self.needs_answer and self.answer_due_at is None:
            self.answer_due_at = self.created_at + answer_target(self.section)
        super().save(*args, **kwargs)

    def can_move_to(self, status: str) -> bool:
        return self.can_moderate_to(status)

    def is_answer_overdue_at(self, now: datetime) -> bool:
        """The answer came after the deadline, or has not come and the deadline passed."""
        if not self.needs_answer or self.answer_due_at is None:
            return False
        return (self.answered_at or now) > self.answer_due_at

    @property
    def response_minutes(self) -> int | None:
        if self.answered_at is None:
            return None
        return int((self.answered_at - self.created_at).total_seconds() // 60)

    @property
    def is_broadcast(self) -> bool:
        return self.scope != self.Scope.NEIGHBORHOOD

    def can_edit(self, user) -> bool:
        return (
            self.author_id == user.pk
            and self.status not in GONE_STATUSES
            and self.status != ContentStatus.HIDDEN
            and timezone.now() - self.created_at <= edit_window()
        )


class PostImage(ImageLink):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="post_images")

    class Meta(ImageLink.Meta):
        verbose_name = "帖子图片"
        verbose_name_plural = "帖子图片"
        constraints = [models.UniqueConstraint(fields=["post", "image"], name="post_image_once")]


class PostRevision(models.Model):
    """The text of a post before an edit."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(max_length=60)
    body = models.TextField()
    image_ids = models.JSONField(default=list)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "帖子修改记录"
        verbose_name_plural = "帖子修改记录"


class Comment(Moderated):
    """A comment on a post, or a reply to a top-level comment (one level only)."""

    Status = ContentStatus
    MODERATION_STATUS_FIELD = "status"
    MODERATION_TRANSITIONS = CONTENT_TRANSITIONS

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments")
    body = models.TextField("内容", max_length=500)
    status = models.CharField("状态", max_length=16, choices=ContentStatus.choices, default=ContentStatus.PENDING_CHECK)
    is_official = models.BooleanField("官方回复", default=False)
    created_at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = "评论"
        verbose_name_plural = "评论"
        indexes = [models.Index(fields=["post", "status", "created_at", "id"], name="comment_thread")]

    def can_move_to(self, status: str) -> bool:
        return self.can_moderate_to(status)


class Like(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "点赞"
        verbose_name_plural = "点赞"
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="like_once_per_user")]
        indexes = [models.Index(fields=["user", "post"])]


class Report(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", "垃圾广告"
        ABUSE = "abuse", "辱骂攻击"
        RUMOR = "rumor", "谣言"
        PRIVACY = "privacy", "泄露隐私"
        ILLEGAL = "illegal", "违法违规"
        OTHER = "other", "其他"

    class Status(models.TextChoices):
        OPEN = "open", "待处理"
        RESOLVED = "resolved", "已处理"

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reports")
    # Set for a report on a comment (post is then the comment's post, for scoping).
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField("原因", max_length=16, choices=Reason.choices)
    note = models.CharField("说明", max_length=200, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "举报"
        verbose_name_plural = "举报"
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "post"], condition=Q(comment__isnull=True), name="report_once_per_post"
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"], condition=Q(comment__isnull=False), name="report_once_per_comment"
            ),
        ]
        indexes = [models.Index(fields=["post", "comment", "status"])]


class Mute(models.Model):
    """A user may not post or comment in a neighborhood until `until`."""

    neighborhood = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField("禁言至")
    reason = models.CharField("原因", max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "禁言"
        verbose_name_plural = "禁言"
        indexes = [models.Index(fields=["user", "neighborhood", "until"])]


class ModerationLog(models.Model):
    """Append-only: every moderation act, with who, why, and the content as it was before."""

    class Action(models.TextChoices):
        HIDE = "hide", "隐藏"
        RESTORE = "restore", "恢复"
        REMOVE = "remove", "删除"
        PIN = "pin", "置顶"
        UNPIN = "unpin", "取消置顶"
        CLOSE_COMMENTS = "close_comments", "关闭评论"
        OPEN_COMMENTS = "open_comments", "开放评论"
        AUTO_HIDE = "auto_hide", "举报达到阈值自动隐藏"
        MUTE = "mute", "禁言"
        CONTENT_CHECK = "content_check", "内容安全复检"

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="空：系统"
    )
    action = models.CharField("操作", max_length=24, choices=Action.choices)
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.PROTECT, related_name="moderation_log")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.PROTECT, related_name="moderation_log")
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("原因", max_length=200, blank=True)
    snapshot = models.JSONField("操作前内容", default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "管理日志"
        verbose_name_plural = "管理日志"
        indexes = [models.Index(fields=["region", "-created_at"]), models.Index(fields=["post", "created_at"])]

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("ModerationLog is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ModerationLog is append-only")


def next_author_day_seq(author_id: int, day: date) -> int:
    """Max, not count: a hard-deleted row must not make the next create collide forever."""
    taken = Post.objects.filter(author_id=author_id, author_day=day).aggregate(m=models.Max("author_day_seq"))["m"]
    return (taken or 0) + 1
