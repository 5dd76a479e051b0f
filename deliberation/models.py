"""议事厅: topics from proposal to evaluated close (issue 6).

A topic moves only along `Topic.TRANSITIONS`; actions lock the row, check the table,
write a `TopicEvent` and publish on commit. Supports, ballots and evaluations are rows
under unique constraints, and every figure shown (support count, tally, evaluation
summary) is a COUNT over those rows, never a counter that could drift.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from images.models import ImageLink
from moderation import models as moderation
from moderation.models import Moderated
from residents.models import Region


class MoveCondition(NamedTuple):
    """What a move needs beyond the transition table: the `Topic.can_*` predicate that must
    hold, the error code and message of a refusal, and whether staff may move on anyway by
    recording a reason residents see (`overridable`)."""

    predicate: str
    code: str
    message: str
    overridable: bool = False


def edit_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "DELIBERATION_EDIT_WINDOW_MINUTES", 60)))


class ContentStatus(models.TextChoices):
    """Whether residents may read a topic's or reply's text (apart from its stage).

    The first three are the verdict strings of moderation.content.check_text: nothing is public
    until WeChat's msgSecCheck said pass or staff approved it."""

    PENDING_CHECK = "pending_check", "待审核（内容安全未检）"  # WeChat unreachable; the task re-checks
    PENDING_REVIEW = "pending_review", "待人工审核"  # WeChat said review: staff decide
    PUBLISHED = "published", "已发布"
    HIDDEN = "hidden", "已隐藏"  # by staff; restorable
    REMOVED = "removed", "已删除（管理）"  # by staff, or a late risky verdict


# Which content status may follow which: moderation's lifecycle as is (staff act on text;
# authors do not delete theirs).
CONTENT_TRANSITIONS = moderation.CONTENT_TRANSITIONS


class Topic(Moderated):
    class Category(models.TextChoices):
        PROPERTY = "property", "物业管理"
        OWNERS_COMMITTEE = "owners_committee", "业委会"
        VILLAGE_RULES = "village_rules", "乡规民约"
        GARBAGE = "garbage", "垃圾分类"
        PARKING = "parking", "停车"
        ELEVATOR = "elevator", "加装电梯"
        PUBLIC_WELFARE = "public_welfare", "公益项目"
        OTHER = "other", "其他"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "提议中"  # collecting supports (附议)
        DISCUSSING = "discussing", "讨论中"  # enough supports, or staff opened it
        VOTING = "voting", "表决中"  # staff summary published, ballots accepted
        DECIDED = "decided", "已表决"  # Decision row holds passed / not passed
        IMPLEMENTING = "implementing", "实施中"  # passed; milestones
        EVALUATING = "evaluating", "效果评估中"  # residents rate the result
        CLOSED = "closed", "已办结"
        WITHDRAWN = "withdrawn", "已撤回"  # by its author, before voting
        MERGED = "merged", "已合并"  # into a duplicate, before voting

    class Outcome(models.TextChoices):
        PASSED = "passed", "通过"
        NOT_PASSED = "not_passed", "未通过"

    # The only moves there are. Who may make each is in `actor_kind_for`.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PROPOSED: frozenset({Status.DISCUSSING, Status.WITHDRAWN, Status.MERGED}),
        Status.DISCUSSING: frozenset({Status.VOTING, Status.WITHDRAWN, Status.MERGED}),
        Status.VOTING: frozenset({Status.DECIDED}),
        Status.DECIDED: frozenset({Status.IMPLEMENTING, Status.CLOSED}),
        Status.IMPLEMENTING: frozenset({Status.EVALUATING}),
        Status.EVALUATING: frozenset({Status.CLOSED}),
    }
    # Moves the table allows only once something has happened. A committee does not ask
    # residents to judge a half-built result, nor close the judging before the window it
    # announced has run: "done" is every milestone at 100 % (or staff end the work early
    # with a reason, 终止实施), "judged" is the evaluation window over.
    MOVE_CONDITIONS: dict[tuple[str, str], MoveCondition] = {
        (Status.IMPLEMENTING, Status.EVALUATING): MoveCondition(
            "can_start_evaluation",
            "milestones_incomplete",
            "实施节点尚未全部完成（进度须达 100%），如需提前结束请选择终止实施并说明原因",
            overridable=True,
        ),
        (Status.EVALUATING, Status.CLOSED): MoveCondition(
            "can_close_evaluation",
            "evaluation_window_open",
            "效果评估期尚未结束，评估截止后才能办结",
        ),
    }
    PRE_VOTE = (Status.PROPOSED, Status.DISCUSSING)
    SUPPORTABLE = (Status.PROPOSED, Status.DISCUSSING)
    REPLYABLE = (Status.PROPOSED, Status.DISCUSSING, Status.VOTING)

    neighborhood = models.ForeignKey(Region, verbose_name="居委/村", on_delete=models.PROTECT, related_name="topics")
    building_group = models.ForeignKey(
        Region,
        verbose_name="楼组",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="group_topics",
        help_text="只涉及一个楼组的议题（如加装电梯）",
    )
    category = models.CharField("类别", max_length=24, choices=Category.choices)
    title = models.CharField("标题", max_length=80)
    body = models.TextField("内容", max_length=5000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="提议人", on_delete=models.PROTECT, related_name="topics"
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PROPOSED)
    content_status = models.CharField(
        "内容状态", max_length=16, choices=ContentStatus.choices, default=ContentStatus.PENDING_CHECK
    )
    edited_at = models.DateTimeField("编辑时间", null=True, blank=True)
    outcome = models.CharField("表决结果", max_length=16, choices=Outcome.choices, blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name="合并至", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_topics"
    )
    summary = models.TextField("讨论小结", blank=True, max_length=5000)
    evaluation_closes_at = models.DateTimeField("评估截止", null=True, blank=True)
    evaluation_summary = models.JSONField("评估结果", null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField("提出时间", auto_now_add=True)
    status_changed_at = models.DateTimeField("状态变更时间", auto_now_add=True)

    class Meta:
        verbose_name = "议题"
        verbose_name_plural = "议题"
        indexes = [
            models.Index(fields=["neighborhood", "-created_at", "-id"]),
            models.Index(fields=["neighborhood", "status", "-created_at"]),
            models.Index(fields=["status"], condition=Q(status="voting"), name="topic_voting_idx"),
            # The author's own topics, newest first (GET /me/topics).
            models.Index(fields=["author", "-created_at", "-id"], name="topic_author_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.is_published

    def can_edit(self, user) -> bool:
        """The author, while the topic still collects supports, within the edit window, and not hidden."""
        return (
            self.author_id == user.pk
            and self.status == self.Status.PROPOSED
            and self.content_status not in (ContentStatus.HIDDEN, ContentStatus.REMOVED)
            and timezone.now() - self.created_at <= edit_window()
        )

    @property
    def scope_region_id(self) -> int:
        return self.building_group_id or self.neighborhood_id

    def can_move_to(self, to: str) -> bool:
        if to not in self.TRANSITIONS.get(self.status, frozenset()):
            return False
        if self.status == self.Status.DECIDED:
            # Only a passed topic is implemented; a failed one is simply archived.
            return (to == self.Status.IMPLEMENTING) == (self.outcome == self.Outcome.PASSED)
        return True

    def milestone_counts(self) -> tuple[int, int]:
        """(milestones, of which not at 100 %): one query."""
        agg = self.milestones.aggregate(
            total=models.Count("id"), unfinished=models.Count("id", filter=Q(progress__lt=100))
        )
        return agg["total"], agg["unfinished"]

    def can_start_evaluation(self, now: datetime | None = None) -> bool:
        """Implementation is done: there are milestones and every one is at 100 %."""
        total, unfinished = self.milestone_counts()
        return total > 0 and unfinished == 0

    def can_close_evaluation(self, now: datetime | None = None) -> bool:
        """The evaluation window residents were given has run its length."""
        now = now or timezone.now()
        return self.evaluation_closes_at is not None and now >= self.evaluation_closes_at

    def unmet_condition(self, to: str, *, now: datetime | None = None) -> MoveCondition | None:
        """The condition of MOVE_CONDITIONS the move to `to` still lacks, or None."""
        condition = self.MOVE_CONDITIONS.get((self.status, to))
        if condition is None or getattr(self, condition.predicate)(now):
            return None
        return condition

    @classmethod
    def actor_kind_for(cls, to: str) -> str:
        """'author' for withdrawal, 'staff' for every other move."""
        return "author" if to == cls.Status.WITHDRAWN else "staff"


MAX_TOPIC_IMAGES = 9
MAX_MILESTONE_PHOTOS = 9


class TopicImage(ImageLink):
    """A picture attached by the topic's author (images.Image: shown to others only once WeChat passed it)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="topic_images")

    class Meta(ImageLink.Meta):
        verbose_name = "议题图片"
        verbose_name_plural = "议题图片"
        constraints = [models.UniqueConstraint(fields=["topic", "image"], name="topic_image_once")]


class TopicEvent(models.Model):
    """Every stage move (and merge), with who made it; actor null means the system (threshold, deadline)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField("原状态", max_length=16, choices=Topic.Status.choices)
    to_status = models.CharField("新状态", max_length=16, choices=Topic.Status.choices)
    note = models.CharField("说明", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "议题进程"
        verbose_name_plural = "议题进程"
        indexes = [models.Index(fields=["topic", "id"])]


class Support(models.Model):
    """附议. The household key lets a threshold count households, not people."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="topic_supports")
    household_key = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "附议"
        verbose_name_plural = "附议"
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="support_one_per_user")]


class Follow(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="topic_follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "关注"
        verbose_name_plural = "关注"
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="follow_one_per_user")]


class Reply(Moderated):
    class Stance(models.TextChoices):
        SUPPORT = "support", "赞成"
        OPPOSE = "oppose", "反对"
        NEUTRAL = "neutral", "中立"

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topic_replies")
    stance = models.CharField("立场", max_length=8, choices=Stance.choices, blank=True)
    is_official = models.BooleanField("官方回复", default=False)
    body = models.TextField("内容", max_length=2000)
    content_status = models.CharField(
        "内容状态", max_length=16, choices=ContentStatus.choices, default=ContentStatus.PENDING_CHECK
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "议事发言"
        verbose_name_plural = "议事发言"
        indexes = [models.Index(fields=["topic", "created_at", "id"])]

    def can_move_to(self, status: str) -> bool:
        return self.can_moderate_to(status)


class Vote(models.Model):
    """The rules of a topic's vote, fixed when the staff summary opens it."""

    class Kind(models.TextChoices):
        YES_NO_ABSTAIN = "yes_no_abstain", "赞成/反对/弃权"
        SINGLE_CHOICE = "single_choice", "单选"
        APPROVAL = "approval", "多选（最多选N项）"

    class PassRule(models.TextChoices):
        SIMPLE_MAJORITY = "simple_majority", "过半数"
        TWO_THIRDS = "two_thirds", "三分之二"
        CIVIL_CODE = "civil_code", "民法典双三分之二参与、双过半（重大事项双四分之三）"

    class Unit(models.TextChoices):
        PERSON = "person", "每人一票"
        HOUSEHOLD = "household", "每户一票"

    YES, NO, ABSTAIN = "yes", "no", "abstain"
    YES_NO_OPTIONS = [{"key": YES, "label": "赞成"}, {"key": NO, "label": "反对"}, {"key": ABSTAIN, "label": "弃权"}]

    topic = models.OneToOneField(Topic, on_delete=models.CASCADE, related_name="vote")
    kind = models.CharField("表决方式", max_length=16, choices=Kind.choices)
    options = models.JSONField("选项", default=list, help_text='[{"key": "1", "label": "..."}]')
    max_choices = models.PositiveSmallIntegerField("最多可选", default=1)
    unit = models.CharField("计票单位", max_length=10, choices=Unit.choices, default=Unit.PERSON)
    opens_at = models.DateTimeField("开始时间")
    closes_at = models.DateTimeField("截止时间")
    quorum_percent = models.DecimalField("最低参与率(%)", max_digits=5, decimal_places=2, default=0)
    pass_rule = models.CharField("通过规则", max_length=16, choices=PassRule.choices)
    is_major_matter = models.BooleanField(
        "重大事项", default=False, help_text="民法典第278条：筹集维修资金、改建重建等"
    )
    allow_change = models.BooleanField("截止前可改票", default=False)

    class Meta:
        verbose_name = "表决规则"
        verbose_name_plural = "表决规则"

    def option_keys(self) -> list[str]:
        return [o["key"] for o in self.options]


class Ballot(models.Model):
    """One per (topic, voter_key): voter_key is the user or the household, per the vote's unit.

    The unique constraint, not a check-then-insert, is what makes "one ballot" true under races.
    """

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="ballots")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ballots")
    voter_key = models.CharField(max_length=80)
    # Snapshots from the membership when cast, for the Civil Code rule.
    is_owner = models.BooleanField(default=False)
    floor_area = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    receipt_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "选票"
        verbose_name_plural = "选票"
        constraints = [models.UniqueConstraint(fields=["topic", "voter_key"], name="ballot_one_per_voter_key")]


class BallotMark(models.Model):
    """One chosen option of a ballot (approval ballots have several). The tally counts these."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="marks")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    option = models.CharField(max_length=32)

    class Meta:
        verbose_name = "选项标记"
        verbose_name_plural = "选项标记"
        constraints = [models.UniqueConstraint(fields=["ballot", "option"], name="ballot_mark_once_per_option")]
        indexes = [models.Index(fields=["topic", "option"])]


class BallotRevision(models.Model):
    """A ballot's earlier choice, kept when its voter changes it (allow_change)."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="revisions")
    choices = models.JSONField(default=list)
    receipt_hash = models.CharField(max_length=64, unique=True)
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "改票记录"
        verbose_name_plural = "改票记录"


class Decision(models.Model):
    """What the rule said at the close, with every figure it used."""

    topic = models.OneToOneField(Topic, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField("结果", max_length=16, choices=Topic.Outcome.choices)
    rule = models.CharField("规则", max_length=16, choices=Vote.PassRule.choices)
    tally = models.JSONField("计票", encoder=DjangoJSONEncoder)
    figures = models.JSONField("参与与法定人数", encoder=DjangoJSONEncoder)
    winning_option = models.CharField("胜出选项", max_length=32, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "表决结果"
        verbose_name_plural = "表决结果"


class Milestone(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "未开始"
        IN_PROGRESS = "in_progress", "进行中"
        DONE = "done", "已完成"
        DELAYED = "delayed", "已延期"

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField("节点", max_length=80)
    due_date = models.DateField("计划完成日期", null=True, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PLANNED)
    progress = models.PositiveSmallIntegerField("进度(%)", default=0, validators=[MaxValueValidator(100)])
    responsible_party = models.CharField("责任方", max_length=64, blank=True)
    note = models.CharField("说明", max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "实施节点"
        verbose_name_plural = "实施节点"
        ordering = ["due_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="milestone_progress_max_100")]


class MilestonePhoto(ImageLink):
    """A site photo of a milestone, uploaded by staff."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="milestone_photos")

    class Meta(ImageLink.Meta):
        verbose_name = "节点照片"
        verbose_name_plural = "节点照片"
        constraints = [models.UniqueConstraint(fields=["milestone", "image"], name="milestone_photo_once")]


class MilestoneUpdate(models.Model):
    """History of a milestone: each create/update, what changed, by whom."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="updates")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changes = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "节点更新"
        verbose_name_plural = "节点更新"


class Evaluation(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="evaluations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topic_evaluations")
    rating = models.PositiveSmallIntegerField("评分", validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.CharField("评价", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "效果评价"
        verbose_name_plural = "效果评价"
        constraints = [
            models.UniqueConstraint(fields=["topic", "user"], name="evaluation_one_per_user"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="evaluation_rating_1_to_5"),
        ]


DEFAULT_REPORT_HIDE_THRESHOLD = 3  # the feed's default too; Region.settings["report_hide_threshold"] overrides both


class TopicReport(models.Model):
    """举报 of a topic or one of its replies: the feed's rules (community.Report), for 议事.

    One per user per topic / per reply; the Nth open report hides the item until staff review it."""

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
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="reports")
    # Set for a report on a reply (topic is then the reply's topic, for scoping).
    reply = models.ForeignKey(Reply, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField("原因", max_length=16, choices=Reason.choices)
    note = models.CharField("说明", max_length=200, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "议事举报"
        verbose_name_plural = "议事举报"
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "topic"], condition=Q(reply__isnull=True), name="topic_report_once_per_topic"
            ),
            models.UniqueConstraint(
                fields=["reporter", "reply"], condition=Q(reply__isnull=False), name="topic_report_once_per_reply"
            ),
        ]
        indexes = [models.Index(fields=["topic", "reply", "status"], name="topic_report_open")]


class TopicContentLog(models.Model):
    """Append-only: every edit and moderation act on a topic or one of its replies — who, why,
    and the content as it was before. Actor null means the system (a late content-check verdict)."""

    class Action(models.TextChoices):
        EDIT = "edit", "作者编辑"
        HIDE = "hide", "隐藏"
        RESTORE = "restore", "恢复/通过审核"
        REMOVE = "remove", "删除"
        CONTENT_CHECK = "content_check", "内容安全复检"
        AUTO_HIDE = "auto_hide", "举报达到阈值自动隐藏"

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="content_log")
    reply = models.ForeignKey(Reply, null=True, blank=True, on_delete=models.PROTECT, related_name="content_log")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="空：系统",
    )
    action = models.CharField("操作", max_length=16, choices=Action.choices)
    reason = models.CharField("原因", max_length=200, blank=True)
    snapshot = models.JSONField("操作前内容", default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "议事内容管理日志"
        verbose_name_plural = "议事内容管理日志"
        indexes = [models.Index(fields=["topic", "id"])]

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("TopicContentLog is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("TopicContentLog is append-only")
