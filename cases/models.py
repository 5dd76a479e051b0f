"""The case engine's tables: responsible units, cases and their timeline (docs/matters.md).

A case is one thing a unit must answer within deadlines: a resident's matter today, a service
request or a sensor alert later. The engine is concrete (one `Case` table for every kind, with
the kind's own row — `matters.Matter` — pointing at it one-to-one) so that one queue, one
overdue list and one escalation job cover every kind; docs/matters.md says why.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from images.models import ImageLink
from residents.models import Region


class ResponsibleUnit(models.Model):
    """Who must act on a case: a 居委, an estate's 物业 company, a street department. `parent`
    is where a case goes up when a deadline passes (物业 → 居委 → 城运中心, say)."""

    class Kind(models.TextChoices):
        COMMITTEE = "committee", "居委"
        PROPERTY = "property", "物业公司"
        URBAN_MANAGEMENT = "urban_management", "城管"
        HOUSING = "housing", "房管"
        POLICE = "police", "派出所"
        MARKET_REGULATION = "market_regulation", "市场监管"
        GRID = "grid", "城运中心网格"
        OTHER = "other", "其他"

    name = models.CharField("名称", max_length=64)
    kind = models.CharField("类型", max_length=24, choices=Kind.choices)
    region = models.ForeignKey(
        Region, verbose_name="所在区域", on_delete=models.PROTECT, related_name="responsible_units",
        help_text="居委、物业挂在居委/村；街道部门挂在街道",
    )
    parent = models.ForeignKey(
        "self", verbose_name="上级单位", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        help_text="超时后上报到这里",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="经办人员", blank=True, related_name="responsible_units")
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "责任单位"
        verbose_name_plural = "责任单位"
        ordering = ["region__code", "name"]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "待受理"
        ACCEPTED = "accepted", "办理中"
        RESOLVED = "resolved", "已答复"
        CONFIRMED = "confirmed", "已确认解决"
        CLOSED = "closed", "已办结"
        REJECTED = "rejected", "已退回"
        REOPENED = "reopened", "已重新打开"
        MERGED = "merged", "已合并"  # staff merged it into an earlier case, which carries on

    class Actor(models.TextChoices):
        UNIT = "unit", "责任单位"
        REPORTER = "reporter", "反映人"
        SYSTEM = "system", "系统"

    # (from, to) → who may make the move. Transfer is not a status move (TRANSFERABLE).
    TRANSITIONS = {
        (Status.SUBMITTED, Status.ACCEPTED): Actor.UNIT,
        (Status.REOPENED, Status.ACCEPTED): Actor.UNIT,
        (Status.SUBMITTED, Status.REJECTED): Actor.UNIT,
        (Status.ACCEPTED, Status.RESOLVED): Actor.UNIT,
        (Status.REOPENED, Status.RESOLVED): Actor.UNIT,
        (Status.RESOLVED, Status.CONFIRMED): Actor.REPORTER,
        (Status.RESOLVED, Status.REOPENED): Actor.REPORTER,
        (Status.RESOLVED, Status.CLOSED): Actor.SYSTEM,
    }
    TRANSFERABLE = frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.REOPENED})
    ACCEPT_PHASE = frozenset({Status.SUBMITTED, Status.REOPENED})  # due_at = accept_due_at
    RESOLVE_PHASE = frozenset({Status.ACCEPTED})  # due_at = resolve_due_at
    OPEN = frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.REOPENED, Status.RESOLVED})
    RATABLE = frozenset({Status.CONFIRMED, Status.CLOSED})

    kind = models.CharField("类型", max_length=16, help_text="matter；以后：service_request、alert")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    unit = models.ForeignKey(ResponsibleUnit, verbose_name="责任单位", on_delete=models.PROTECT, related_name="cases")
    supervising_unit = models.ForeignKey(
        ResponsibleUnit, verbose_name="督办单位", null=True, blank=True, on_delete=models.PROTECT, related_name="supervised_cases",
        help_text="超时上报到的上级单位",
    )
    unit_chain = models.JSONField("流转经过的单位", default=list, help_text="单位 id，按先后；用于识别来回转办")
    neighborhood = models.ForeignKey(Region, verbose_name="居委/村", on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey(Region, verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="反映人", null=True, on_delete=models.SET_NULL, related_name="cases"
    )
    accept_hours = models.PositiveIntegerField("受理时限(小时)")
    resolve_hours = models.PositiveIntegerField("办结时限(小时)")
    # Minute-scale targets (a sensor alarm must be answered in minutes); when set they win over
    # the hours above, which then hold the same window rounded up for lists that show hours.
    accept_minutes = models.PositiveIntegerField("受理时限(分钟)", null=True, blank=True, help_text="填写时优先于小时")
    resolve_minutes = models.PositiveIntegerField("办结时限(分钟)", null=True, blank=True, help_text="填写时优先于小时")
    accept_due_at = models.DateTimeField("受理截止")
    resolve_due_at = models.DateTimeField("办结截止")
    # The deadline of the current phase (accept or resolve); null once the unit has answered.
    # Queues order by it, so the overdue come first; the escalation job reads it.
    due_at = models.DateTimeField("当前截止", null=True, blank=True)
    escalated_for = models.DateTimeField("已上报的截止时间", null=True, blank=True, help_text="每个截止时间只上报一次")
    accepted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField("确认/办结时间", null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField("重新打开次数", default=0)
    answer = models.TextField("答复", blank=True)
    reject_reason = models.CharField("退回原因", max_length=500, blank=True)
    rating = models.PositiveSmallIntegerField("评分", null=True, blank=True)
    # The reporter's words with the rating, through WeChat's content check (moderation.content):
    # its verdict in rating_comment_status ("" without a comment).
    rating_comment = models.CharField("评价留言", max_length=500, blank=True)
    rating_comment_status = models.CharField("评价留言审核", max_length=16, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "案件"
        verbose_name_plural = "案件"
        indexes = [
            models.Index(fields=["unit", "due_at", "id"], name="case_unit_queue"),
            models.Index(fields=["street", "due_at", "id"], name="case_street_queue"),
            models.Index(fields=["neighborhood", "status"], name="case_neighborhood_status"),
            models.Index(fields=["due_at"], name="case_due"),
            models.Index(fields=["status", "resolved_at"], name="case_status_resolved"),
            # The queues (matters.queries.queue): the open cases with a running deadline, in
            # deadline order, so a page stops after its rows instead of reading every open case
            # of every kind and then the caller's OR (bench/README.md, issue 17 at Baoshan scale).
            models.Index(
                fields=["due_at", "id"], name="case_open_queue",
                condition=models.Q(due_at__isnull=False, status__in=["accepted", "reopened", "submitted"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5), name="case_rating_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def accept_window(self) -> dt.timedelta:
        if self.accept_minutes is not None:
            return dt.timedelta(minutes=self.accept_minutes)
        return dt.timedelta(hours=self.accept_hours)

    def resolve_window(self) -> dt.timedelta:
        if self.resolve_minutes is not None:
            return dt.timedelta(minutes=self.resolve_minutes)
        return dt.timedelta(hours=self.resolve_hours)

    def phase_due(self):
        if self.status in self.ACCEPT_PHASE:
            return self.accept_due_at
        if self.status in self.RESOLVE_PHASE:
            return self.resolve_due_at
        return None


class CaseEvent(models.Model):
    """The timeline: every move with who, when and why."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "提交"
        ACCEPTED = "accepted", "受理"
        TRANSFERRED = "transferred", "转办"
        REJECTED = "rejected", "退回"
        RESOLVED = "resolved", "答复"
        CONFIRMED = "confirmed", "确认解决"
        CLOSED = "closed", "自动办结"
        REOPENED = "reopened", "重新打开"
        ESCALATED = "escalated", "超时上报"
        RATED = "rated", "评价"
        SUPPORTED = "supported", "我也遇到"
        MERGED = "merged", "合并"
        JOINT_REQUESTED = "joint_requested", "请求会办"
        JOINT_NOTE = "joint_note", "会办意见"
        READING = "reading", "设备读数"  # a sensor's reading on its alert's timeline

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    from_unit = models.ForeignKey(ResponsibleUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(ResponsibleUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "案件时间线"
        verbose_name_plural = "案件时间线"
        indexes = [models.Index(fields=["case", "created_at", "id"], name="case_event_timeline")]


class CaseJoint(models.Model):
    """会办: a unit the handling unit asked to join. It sees the case in its queue and adds its
    part to the timeline (`joint_note`); the lead unit (`Case.unit`) still answers."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="joints")
    unit = models.ForeignKey(ResponsibleUnit, verbose_name="会办单位", on_delete=models.PROTECT, related_name="joint_cases")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField("会办事由", max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "会办单位"
        verbose_name_plural = "会办单位"
        constraints = [models.UniqueConstraint(fields=["case", "unit"], name="case_joint_once")]
        indexes = [models.Index(fields=["unit", "case"], name="case_joint_unit")]


class CaseAnswerPhoto(ImageLink):
    """Up to 9 pictures with the unit's answer (the latest answer's: a new answer replaces them)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="answer_photos")

    class Meta(ImageLink.Meta):
        verbose_name = "答复照片"
        verbose_name_plural = "答复照片"
        constraints = [models.UniqueConstraint(fields=["case", "image"], name="case_answer_photo_unique")]
