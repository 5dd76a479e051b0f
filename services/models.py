"""One-tap elder services: the catalog (大类 → 小类), requests and their state machine,
timeline events, deadlines, ratings and recurring plans.

Rules about *who* may move a request live in the transition table below (data, not code
paths); the actions in services/actions.py enforce it while holding the row lock.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.crypto import EncryptedTextField
from images.models import ImageLink


class ServiceCategory(models.Model):
    """大类, e.g. 助餐 or 助医."""

    code = models.SlugField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=32)
    description = models.CharField("说明", max_length=200, blank=True)
    icon = models.CharField("图标", max_length=64, blank=True, help_text="小程序图标名")
    sort_order = models.PositiveSmallIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "服务大类"
        verbose_name_plural = "服务大类"
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class ProviderOrganization(models.Model):
    """A 助老服务社, canteen or clinic that carries out requests. Members are its staff."""

    name = models.CharField("名称", max_length=64, unique=True)
    street = models.ForeignKey(
        "residents.Region", verbose_name="服务街道", null=True, blank=True, on_delete=models.PROTECT,
        related_name="provider_organizations", help_text="留空表示全区服务",
    )
    phone = models.CharField("服务电话", max_length=32, blank=True, help_text="机构对外公开的电话")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="工作人员", blank=True, related_name="provider_organizations")
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "服务机构"
        verbose_name_plural = "服务机构"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def serves_street(self, street_id: int | None) -> bool:
        return self.is_active and (self.street_id is None or self.street_id == street_id)


class ServiceItem(models.Model):
    """小类: one thing a resident can ask for, with its Open311-like field definitions.

    `fields` is a list of {"key", "label", "type", "required", "choices"?}; type is one of
    FIELD_TYPES. Requests carry their answers in `extra`, validated by services.extra.
    """

    FIELD_TYPES = ("string", "number", "choice", "date", "time", "bool")

    class Requester(models.TextChoices):
        ANYONE = "anyone", "本人或家属"
        STAFF_ONLY = "staff_only", "仅居委代为申请"

    category = models.ForeignKey(ServiceCategory, verbose_name="大类", on_delete=models.PROTECT, related_name="items")
    code = models.SlugField("编码", max_length=48, unique=True)
    name = models.CharField("名称", max_length=32)
    description = models.TextField("服务内容")
    min_age = models.PositiveSmallIntegerField("最低年龄", default=60, help_text="0 表示不限年龄")
    who_may_ask = models.CharField("申请人", max_length=16, choices=Requester.choices, default=Requester.ANYONE)
    eligibility_text = models.CharField("服务对象说明", max_length=200, blank=True)
    price_text = models.CharField("收费标准", max_length=200, blank=True)
    subsidy_text = models.CharField("补贴政策", max_length=200, blank=True)
    fields = models.JSONField("附加信息项", default=list, blank=True)
    default_provider = models.ForeignKey(
        ProviderOrganization, verbose_name="默认服务机构", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accept_within = models.DurationField("受理时限", default=timedelta(hours=2))
    complete_within = models.DurationField("办结时限", default=timedelta(hours=48))
    allows_plan = models.BooleanField("可定期预约", default=False, help_text="如每日送餐")
    sort_order = models.PositiveSmallIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "服务项目"
        verbose_name_plural = "服务项目"
        ordering = ["category__sort_order", "sort_order", "id"]

    def __str__(self) -> str:
        return f"{self.category.name} / {self.name}"


class ServicePlan(models.Model):
    """A standing order (e.g. lunch delivered every weekday for a month) that spawns one request per day."""

    class Frequency(models.TextChoices):
        DAILY = "daily", "每天"
        WEEKLY = "weekly", "每周"

    class Status(models.TextChoices):
        ACTIVE = "active", "进行中"
        PAUSED = "paused", "已暂停"
        CANCELLED = "cancelled", "已取消"

    item = models.ForeignKey(ServiceItem, verbose_name="服务项目", on_delete=models.PROTECT, related_name="plans")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="service_plans")
    beneficiary = models.ForeignKey(
        "residents.Beneficiary", verbose_name="服务对象", null=True, blank=True, on_delete=models.PROTECT, related_name="service_plans"
    )
    neighborhood = models.ForeignKey("residents.Region", verbose_name="居委/村", on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("residents.Region", verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    frequency = models.CharField("频率", max_length=8, choices=Frequency.choices)
    weekdays = models.JSONField("星期", default=list, blank=True, help_text="ISO 星期 1–7，仅每周")
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")
    time_slot = models.CharField("时段", max_length=16, blank=True)
    extra = models.JSONField("附加信息", default=dict, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.ACTIVE)
    filed_on_behalf = models.BooleanField("居委代为申请", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "定期服务"
        verbose_name_plural = "定期服务"
        constraints = [models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="service_plan_period_ordered")]


class TextStatus(models.TextChoices):
    """Where a resident's free text (request note, rating comment) stands with WeChat's
    msgSecCheck. The values are moderation.content's verdict strings, so a verdict is stored as is.
    Until it is `published` the text is shown only to its author's side (requester, the elder's
    registered family) and to the region's staff, who review it; providers see it blanked."""

    PUBLISHED = "published", "已通过"  # pass, or typed by staff, or approved by staff
    PENDING_REVIEW = "pending_review", "待人工审核"  # WeChat suggested review: staff decide
    PENDING_CHECK = "pending_check", "待送审"  # WeChat was unreachable: moderation's re-check sweep asks again
    REMOVED = "removed", "已隐藏"  # staff hid it, or the late check said risky

    @classmethod
    def waiting(cls) -> tuple[str, str]:
        return (cls.PENDING_REVIEW, cls.PENDING_CHECK)


class ServiceRequest(models.Model):
    """One ask for one service for one person, and where it stands."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "待受理"  # filed, nobody has looked yet
        ACCEPTED = "accepted", "已受理"  # the committee took it on, no provider yet
        ASSIGNED = "assigned", "已派单"  # an organization or volunteer holds it
        IN_SERVICE = "in_service", "服务中"  # the provider is on site
        COMPLETED = "completed", "已完成"  # done; waiting for the resident's word
        RATED = "rated", "已评价"  # the resident rated it: closed for good
        REJECTED = "rejected", "已驳回"  # the committee declined, with a reason
        CANCELLED = "cancelled", "已取消"  # the requester withdrew it (or its plan stopped)
        REOPENED = "reopened", "已重开"  # the resident said it was not done right; back to the committee
        PAUSED = "paused", "已暂停"  # a standing order's day on hold while its plan is paused

    class Actor(models.TextChoices):
        STAFF = "staff", "居委/街道工作人员"
        PROVIDER = "provider", "服务人员"
        REQUESTER = "requester", "申请人"

    S = Status
    # (from, to) → who may make the move. The one place the lifecycle is written down.
    TRANSITIONS: dict[tuple[str, str], str] = {
        (S.SUBMITTED, S.ACCEPTED): Actor.STAFF,
        (S.SUBMITTED, S.REJECTED): Actor.STAFF,
        (S.ACCEPTED, S.REJECTED): Actor.STAFF,
        (S.ACCEPTED, S.ASSIGNED): Actor.STAFF,
        (S.ASSIGNED, S.ASSIGNED): Actor.STAFF,  # reassign to another provider
        (S.REOPENED, S.ACCEPTED): Actor.STAFF,
        (S.REOPENED, S.ASSIGNED): Actor.STAFF,
        (S.ASSIGNED, S.IN_SERVICE): Actor.PROVIDER,
        (S.IN_SERVICE, S.COMPLETED): Actor.PROVIDER,
        (S.SUBMITTED, S.CANCELLED): Actor.REQUESTER,
        (S.ACCEPTED, S.CANCELLED): Actor.REQUESTER,
        (S.ASSIGNED, S.CANCELLED): Actor.REQUESTER,
        (S.IN_SERVICE, S.CANCELLED): Actor.REQUESTER,
        (S.REOPENED, S.CANCELLED): Actor.REQUESTER,
        (S.PAUSED, S.CANCELLED): Actor.REQUESTER,
        (S.COMPLETED, S.REOPENED): Actor.REQUESTER,
        # Rated but not done right ("nobody came", 1★): the window after completion still holds.
        (S.RATED, S.REOPENED): Actor.REQUESTER,
        (S.COMPLETED, S.RATED): Actor.REQUESTER,  # only through the rating endpoint
    }
    # Moves staff may also make on the provider's behalf (the provider confirmed by phone, the
    # elder has no smartphone): a note saying how it was confirmed is required, and the
    # timeline records the move as made on behalf.
    ON_BEHALF: dict[tuple[str, str], str] = {
        (S.ASSIGNED, S.COMPLETED): Actor.STAFF,
        (S.IN_SERVICE, S.COMPLETED): Actor.STAFF,
    }
    OPEN_STATUSES = (S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.IN_SERVICE, S.REOPENED)
    # Waiting for the committee: the accept deadline applies.
    ACCEPT_PHASE = (S.SUBMITTED, S.REOPENED)
    REOPEN_WINDOW = timedelta(days=7)
    REASON_REQUIRED = (S.REJECTED,)

    item = models.ForeignKey(ServiceItem, verbose_name="服务项目", on_delete=models.PROTECT, related_name="requests")
    # Its case on the engine (services/actions/case_mirror.py): deadlines, escalation, timeline,
    # rating and reopen as the engine keeps them for every kind. Null only for rows written
    # straight to the table.
    case = models.OneToOneField(
        "cases.Case", verbose_name="案件", null=True, blank=True, on_delete=models.PROTECT, related_name="service_request"
    )
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="service_requests")
    beneficiary = models.ForeignKey(
        "residents.Beneficiary", verbose_name="服务对象", null=True, blank=True, on_delete=models.PROTECT,
        related_name="service_requests", help_text="为空表示申请人本人",
    )
    beneficiary_name = models.CharField("服务对象姓名", max_length=32, blank=True)
    neighborhood = models.ForeignKey("residents.Region", verbose_name="居委/村", on_delete=models.PROTECT, related_name="+")
    # Denormalized from neighborhood.parent: officer queues and street stats filter on it.
    street = models.ForeignKey("residents.Region", verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    filed_on_behalf = models.BooleanField("居委代为申请", default=False)
    address = EncryptedTextField("服务地址", blank=True, default="")
    health_note = EncryptedTextField("健康备注", blank=True, default="")
    note = models.CharField("备注", max_length=500, blank=True)
    note_status = models.CharField("备注审核", max_length=16, choices=TextStatus.choices, default=TextStatus.PUBLISHED)
    extra = models.JSONField("附加信息", default=dict, blank=True)
    scheduled_for = models.DateTimeField("预约时间", null=True, blank=True)
    accept_due_at = models.DateTimeField("受理截止")
    complete_due_at = models.DateTimeField("办结截止")
    escalated_at = models.DateTimeField("已上报街道", null=True, blank=True)
    assigned_org = models.ForeignKey(
        ProviderOrganization, verbose_name="服务机构", null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="服务人员/志愿者", null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_service_requests"
    )
    reject_reason = models.CharField("驳回原因", max_length=200, blank=True)
    completion_note = models.CharField("完成说明", max_length=500, blank=True)
    plan = models.ForeignKey(ServicePlan, verbose_name="定期服务", null=True, blank=True, on_delete=models.PROTECT, related_name="occurrences")
    occurrence_date = models.DateField("服务日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField("完成时间", null=True, blank=True)
    # A low rating's follow-up: due by follow_up_due_at, done when staff record the call.
    follow_up_due_at = models.DateTimeField("低分回访时限", null=True, blank=True)
    followed_up_at = models.DateTimeField("回访时间", null=True, blank=True)

    class Meta:
        verbose_name = "服务工单"
        verbose_name_plural = "服务工单"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "occurrence_date"], condition=~Q(status="cancelled"), name="service_request_one_live_occurrence"
            )
        ]
        indexes = [
            models.Index(fields=["neighborhood", "status", "complete_due_at"]),
            models.Index(fields=["street", "status", "complete_due_at"]),
            models.Index(fields=["requester", "-created_at"]),
            models.Index(fields=["assigned_org", "status"]),
            models.Index(fields=["status", "escalated_at"]),
            models.Index(
                fields=["neighborhood", "follow_up_due_at"], condition=Q(follow_up_due_at__isnull=False, followed_up_at__isnull=True),
                name="service_request_follow_up_open",
            ),
            # Small: only notes still waiting for WeChat or staff (the re-check sweep, the review filter).
            models.Index(fields=["note_status"], condition=~Q(note_status="published"), name="service_request_note_waiting"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.item_id} {self.get_status_display()}"

    @classmethod
    def asked(cls) -> Q:
        """Rows that stand for a service somebody asked for: not a standing order's day that its
        plan's pause or cancellation stopped. Dashboards count these, not rows."""
        return ~Q(plan__isnull=False, status__in=(cls.Status.PAUSED, cls.Status.CANCELLED))

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue_at(self, now) -> bool:
        if self.status in self.ACCEPT_PHASE and self.accept_due_at < now:
            return True
        return self.status in self.OPEN_STATUSES and self.complete_due_at < now

    def can_move_to(self, to: str) -> bool:
        return (self.status, to) in self.TRANSITIONS or (self.status, to) in self.ON_BEHALF

    def actor_for(self, to: str) -> str | None:
        return self.TRANSITIONS.get((self.status, to))


class ServiceRequestEvent(models.Model):
    """A line on the timeline: a state change, an escalation, a rating."""

    class Kind(models.TextChoices):
        CREATED = "created", "提交"
        TRANSITION = "transition", "状态变更"
        ESCALATED = "escalated", "超时上报"
        RATED = "rated", "评价"
        TEXT_REVIEWED = "text_reviewed", "内容审核"
        FOLLOW_UP_OPENED = "follow_up_opened", "低分待回访"
        FOLLOWED_UP = "followed_up", "已回访"

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TRANSITION)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="空表示系统")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.CharField("说明", max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "工单记录"
        verbose_name_plural = "工单记录"
        indexes = [models.Index(fields=["request", "created_at", "id"])]


class ServiceRating(models.Model):
    """The resident's word on a completed request. One per request."""

    request = models.OneToOneField(ServiceRequest, on_delete=models.CASCADE, related_name="rating")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField("评分")
    comment = models.CharField("评价", max_length=500, blank=True)
    comment_status = models.CharField("评价审核", max_length=16, choices=TextStatus.choices, default=TextStatus.PUBLISHED)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    SATISFIED_FROM = 4  # 满意 = 4 or 5 stars
    # A score this low opens a follow-up: staff call the family back within FOLLOW_UP_WITHIN.
    LOW_UP_TO = 2
    FOLLOW_UP_WITHIN = timedelta(hours=24)

    class Meta:
        verbose_name = "服务评价"
        verbose_name_plural = "服务评价"
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="service_rating_score_1_to_5")]
        indexes = [
            models.Index(fields=["comment_status"], condition=~Q(comment_status="published"), name="service_rating_comment_waiting")
        ]


class ServiceRequestPhoto(ImageLink):
    """A picture the provider attached when completing a request (a `images.Image` they uploaded).

    Linked to the completion event, so a request completed twice (reopened in between) keeps
    each round's pictures on its own timeline line. Who sees a picture is the image's rule
    (`Image.objects.visible_to`): the uploader at once, everyone who sees the request once
    WeChat's media check passed it."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(ServiceRequestEvent, on_delete=models.CASCADE, related_name="photos")

    MAX_PER_COMPLETION = 9

    class Meta:
        verbose_name = "完成照片"
        verbose_name_plural = "完成照片"
        ordering = ["event_id", "position"]
        constraints = [models.UniqueConstraint(fields=["event", "image"], name="service_request_photo_once_per_event")]


class SatisfactionDaily(models.Model):
    """The satisfaction read model: ratings per (day, item, provider, neighborhood), kept by the
    rating action inside its own transaction with an F() upsert, so `service-stats/satisfaction`
    and dashboards sum a few indexed rows instead of scanning every rating.

    `date` is the rating's local (Asia/Shanghai) date. `provider_key` is the organization's id,
    0 for a request done by a volunteer without one: it is part of the unique key because a
    unique index treats NULLs as distinct on SQLite and PostgreSQL < 15."""

    date = models.DateField("日期")
    item = models.ForeignKey(ServiceItem, verbose_name="服务项目", on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(
        ProviderOrganization, verbose_name="服务机构", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider_key = models.PositiveIntegerField(default=0, help_text="服务机构 id，0 表示无机构（志愿者）")
    neighborhood = models.ForeignKey("residents.Region", verbose_name="居委/村", on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("residents.Region", verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    ratings = models.PositiveIntegerField("评价数", default=0)
    satisfied = models.PositiveIntegerField("满意数", default=0, help_text="4–5 星")
    score_sum = models.PositiveIntegerField("总分", default=0)

    class Meta:
        verbose_name = "满意度日汇总"
        verbose_name_plural = "满意度日汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["date", "item", "provider_key", "neighborhood"], name="satisfaction_daily_one_row_per_key"
            ),
            models.CheckConstraint(
                condition=Q(satisfied__lte=models.F("ratings")), name="satisfaction_daily_satisfied_within_ratings"
            ),
        ]
        indexes = [models.Index(fields=["neighborhood", "date"]), models.Index(fields=["street", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.item_id}/{self.provider_key}/{self.neighborhood_id}: {self.satisfied}/{self.ratings}"
