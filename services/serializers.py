"""Input and output shapes, one small serializer per endpoint. No business rules here."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.crypto import mask_text
from images.pipeline import absolute_url
from services.access import sees_unchecked_text
from services.extra import field_default, to_confirm
from services.models import ServiceItem, ServicePlan, ServiceRequest, TextStatus

Status = ServiceRequest.Status
# Ids are bounded so an oversized number is a 400, not a 500 from the database driver
# (SQLite INTEGER and PostgreSQL bigint both stop at 2**63 - 1).
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


# --- catalog -----------------------------------------------------------------------------


class FieldDefinitionOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=ServiceItem.FIELD_TYPES)
    required = serializers.BooleanField(default=False, help_text="办理前须知道；一键申请时可不填，由工作人员回电确认")
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    default = serializers.SerializerMethodField(help_text="不填时采用的值（本人上次的选择优先）；null 表示没有默认值")

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_default(self, definition: dict) -> str | int | bool | None:
        return field_default(definition, timezone.now())


class CatalogItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    min_age = serializers.IntegerField()
    who_may_ask = serializers.CharField()
    eligibility_text = serializers.CharField()
    price_text = serializers.CharField()
    subsidy_text = serializers.CharField()
    fields = FieldDefinitionOut(many=True)
    default_provider_id = serializers.IntegerField(allow_null=True)
    accept_within_minutes = serializers.SerializerMethodField()
    complete_within_minutes = serializers.SerializerMethodField()
    allows_plan = serializers.BooleanField()

    def get_accept_within_minutes(self, item: ServiceItem) -> int:
        return int(item.accept_within.total_seconds() // 60)

    def get_complete_within_minutes(self, item: ServiceItem) -> int:
        return int(item.complete_within.total_seconds() // 60)


class CatalogCategoryOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    icon = serializers.CharField()
    items = CatalogItemOut(many=True)


class CatalogOut(serializers.Serializer):
    categories = CatalogCategoryOut(many=True)


# --- requests ----------------------------------------------------------------------------


class ServiceRequestCreateIn(serializers.Serializer):
    item = IdField()
    beneficiary = IdField(required=False, allow_null=True)
    scheduled_for = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    extra = serializers.DictField(required=False, default=dict)
    health_note = serializers.CharField(max_length=500, required=False, allow_blank=True, allow_null=True, default=None)


class TransitionIn(serializers.Serializer):
    class Meta:
        ref_name = "ServiceRequestTransitionIn"  # deliberation has a TransitionIn for topics

    to = serializers.ChoiceField(choices=Status.choices)
    # A plain string (checked below) so the schema has one status enum, not two names for it.
    from_status = serializers.CharField(
        max_length=16, required=False, allow_null=True,
        help_text="客户端看到的当前状态；与服务器不一致时返回 409 request_state_changed（建议总是填写）",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    assignee_org = IdField(required=False, allow_null=True)
    assignee_user = IdField(required=False, allow_null=True)
    photos = serializers.ListField(
        child=IdField(), required=False, default=list, max_length=9,
        help_text="仅 to=completed：POST /api/v1/images 上传后得到的图片 id（服务人员本人上传，最多 9 张）",
    )

    def validate_from_status(self, value: str | None) -> str | None:
        if value is not None and value not in Status.values:
            raise serializers.ValidationError("未知的状态")
        return value


class BulkTransitionIn(serializers.Serializer):
    ids = serializers.ListField(child=IdField(), min_length=1, max_length=100)
    to = serializers.ChoiceField(choices=[("accepted", "受理"), ("assigned", "派单")])
    assignee_org = IdField(required=False, allow_null=True)
    assignee_user = IdField(required=False, allow_null=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    accept_first = serializers.BooleanField(
        required=False, default=False, help_text="仅 to=assigned：待受理的工单先受理再派单（同一事务，要么都成功要么都不做）"
    )

    def validate_ids(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("工单重复")
        return value


class BulkErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.DictField()


class BulkOutcomeOut(serializers.Serializer):
    id = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=["ok", "conflict", "not_found", "invalid", "forbidden"])
    status_code = serializers.IntegerField(help_text="与单张操作相同的 HTTP 状态码：200/400/403/404/409")
    status = serializers.CharField(allow_null=True, help_text="ok：操作后的状态；conflict：当前状态；其余为 null")
    error = BulkErrorOut(allow_null=True)


class BulkTransitionOut(serializers.Serializer):
    to = serializers.CharField()
    results = BulkOutcomeOut(many=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="按 outcome 计数")


class TextReviewIn(serializers.Serializer):
    field = serializers.ChoiceField(choices=[("note", "申请备注"), ("rating_comment", "评价内容")])
    decision = serializers.ChoiceField(choices=[("approve", "通过（服务人员可见）"), ("remove", "隐藏")])


class FollowUpIn(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="回访情况，如：已电话联系家属，明天重新上门")


class RatingIn(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ToConfirmOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class ItemRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    category_id = serializers.IntegerField()
    category_name = serializers.CharField(source="category.name")


class ServicePhotoThumbOut(serializers.Serializer):
    id = serializers.IntegerField(source="image.id")
    event_id = serializers.IntegerField(help_text="所属的完成记录（时间线）")
    status = serializers.CharField(source="image.status", help_text="passed 之前只有上传者能看到")
    thumbnail_url = serializers.SerializerMethodField()

    def get_thumbnail_url(self, link) -> str:
        return absolute_url(link.image.thumbnail.name)


class ServicePhotoOut(ServicePhotoThumbOut):
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField(source="image.width")
    height = serializers.IntegerField(source="image.height")

    def get_url(self, link) -> str:
        return absolute_url(link.image.file.name)


TEXT_STATUS_HELP = "内容安全审核：published 已通过 / pending_review 待人工审核 / pending_check 待送审 / removed 已隐藏"


class RatingOut(serializers.Serializer):
    """`comment` is blank for a viewer who may not read it yet (see services.access.sees_unchecked_text);
    the context carries `viewer` and the rated service request as `request_obj`."""

    score = serializers.IntegerField()
    comment = serializers.SerializerMethodField()
    comment_status = serializers.CharField(help_text=TEXT_STATUS_HELP)
    created_at = serializers.DateTimeField()

    def get_comment(self, rating) -> str:
        if rating.comment_status == TextStatus.PUBLISHED:
            return rating.comment
        request = self.context.get("request_obj") or rating.request
        return rating.comment if sees_unchecked_text(self.context.get("viewer"), request) else ""


class ServiceRequestOut(serializers.Serializer):
    """`address` and `health_note` are masked unless the view says this caller sees them in full."""

    id = serializers.IntegerField()
    item = ItemRefOut()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    beneficiary_id = serializers.IntegerField(allow_null=True)
    beneficiary_name = serializers.CharField()
    neighborhood = RefOut()
    requester_id = serializers.IntegerField()
    filed_on_behalf = serializers.BooleanField()
    address = serializers.SerializerMethodField()
    health_note = serializers.SerializerMethodField()
    sensitive_masked = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField(help_text="未通过内容审核时，服务人员看到的是空字符串")
    note_status = serializers.CharField(help_text=TEXT_STATUS_HELP)
    extra = serializers.DictField()
    to_confirm = serializers.SerializerMethodField(help_text="申请时未填、待工作人员电话确认的必填项")
    scheduled_for = serializers.DateTimeField(allow_null=True)
    accept_due_at = serializers.DateTimeField()
    complete_due_at = serializers.DateTimeField()
    is_overdue = serializers.SerializerMethodField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    assigned_org = RefOut(allow_null=True)
    assigned_user = serializers.SerializerMethodField()
    reject_reason = serializers.CharField()
    completion_note = serializers.CharField()
    completion_photos = ServicePhotoThumbOut(
        source="visible_photos", many=True, default=list, help_text="完成照片缩略图（列表只给缩略图）"
    )
    plan_id = serializers.IntegerField(allow_null=True)
    occurrence_date = serializers.DateField(allow_null=True)
    rating = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    follow_up_due_at = serializers.DateTimeField(allow_null=True, help_text="低分评价的回访时限；null 表示无需回访")
    followed_up_at = serializers.DateTimeField(allow_null=True, help_text="工作人员登记回访的时间")

    def _full(self) -> bool:
        return bool(self.context.get("full"))

    def get_address(self, obj: ServiceRequest) -> str:
        return obj.address if self._full() else mask_text(obj.address)

    def get_health_note(self, obj: ServiceRequest) -> str:
        return obj.health_note if self._full() else mask_text(obj.health_note, keep=0)

    def get_note(self, obj: ServiceRequest) -> str:
        if obj.note_status == TextStatus.PUBLISHED or sees_unchecked_text(self.context.get("viewer"), obj):
            return obj.note
        return ""

    @extend_schema_field(ToConfirmOut(many=True))
    def get_to_confirm(self, obj: ServiceRequest) -> list[dict[str, str]]:
        return to_confirm(obj.item.fields, obj.extra)

    def get_sensitive_masked(self, obj: ServiceRequest) -> bool:
        return not self._full()

    def get_is_overdue(self, obj: ServiceRequest) -> bool:
        annotated = getattr(obj, "is_overdue", None)
        return bool(annotated) if annotated is not None else obj.is_overdue_at(timezone.now())

    @extend_schema_field(RefOut(allow_null=True))
    def get_assigned_user(self, obj: ServiceRequest) -> dict | None:
        if obj.assigned_user_id is None:
            return None
        return {"id": obj.assigned_user_id, "name": obj.assigned_user.display_name}

    @extend_schema_field(RatingOut(allow_null=True))
    def get_rating(self, obj: ServiceRequest) -> dict | None:
        rating = getattr(obj, "rating", None) if obj.status == Status.RATED else None
        if not rating:
            return None
        return RatingOut(rating, context={"viewer": self.context.get("viewer"), "request_obj": obj}).data


class ServiceRequestDetailOut(ServiceRequestOut):
    completion_photos = ServicePhotoOut(source="visible_photos", many=True, default=list, help_text="完成照片（原图与缩略图）")
    allowed_transitions = serializers.SerializerMethodField(help_text="当前用户可执行的目标状态")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_transitions(self, obj: ServiceRequest) -> list[str]:
        return self.context.get("allowed_transitions", [])


class ServiceRequestPageOut(serializers.Serializer):
    results = ServiceRequestOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class ServiceRequestEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField()
    data = serializers.DictField()
    photos = ServicePhotoOut(source="visible_photos", many=True, default=list, help_text="完成时上传的照片")
    created_at = serializers.DateTimeField()

    def get_note(self, event) -> str:
        # A rating's line carries the comment: blank it where the rating itself would be blanked.
        if event.kind == event.Kind.RATED and self.context.get("hide_rating_comment"):
            return ""
        return event.note

    @extend_schema_field(RefOut(allow_null=True))
    def get_actor(self, event) -> dict | None:
        if event.actor_id is None:
            return {"id": None, "name": "系统"}
        return {"id": event.actor_id, "name": event.actor.display_name}


class ServiceRequestEventPageOut(serializers.Serializer):
    results = ServiceRequestEventOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class CountsOut(serializers.Serializer):
    by_status = serializers.DictField(child=serializers.IntegerField())
    overdue = serializers.IntegerField()
    total = serializers.IntegerField()


class SatisfactionQueryIn(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=["item", "provider", "neighborhood", "street"], default="item")
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)


class SatisfactionRowOut(serializers.Serializer):
    ratings = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    satisfaction_rate = serializers.FloatField(allow_null=True, help_text="4–5 星占比")
    average_score = serializers.FloatField(allow_null=True)


class SatisfactionGroupOut(SatisfactionRowOut):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()


class SatisfactionOut(serializers.Serializer):
    group_by = serializers.CharField()
    overall = SatisfactionRowOut()
    groups = SatisfactionGroupOut(many=True)


# --- plans -------------------------------------------------------------------------------


class ServicePlanIn(serializers.Serializer):
    item = IdField()
    beneficiary = IdField(required=False, allow_null=True)
    frequency = serializers.ChoiceField(choices=ServicePlan.Frequency.choices)
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7), required=False, default=list)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    time_slot = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    extra = serializers.DictField(required=False, default=dict)


class ServicePlanOut(serializers.Serializer):
    id = serializers.IntegerField()
    item = ItemRefOut()
    beneficiary_id = serializers.IntegerField(allow_null=True)
    frequency = serializers.CharField()
    weekdays = serializers.ListField(child=serializers.IntegerField())
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    time_slot = serializers.CharField()
    extra = serializers.DictField()
    status = serializers.CharField()
    filed_on_behalf = serializers.BooleanField()
    occurrences = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_occurrences(self, plan: ServicePlan) -> dict:
        by_plan = self.context.get("occurrences_by_plan")
        if by_plan is not None:
            return by_plan.get(plan.pk, {})
        return self.context.get("occurrences", {})


class PlanListIn(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["mine", "region"], required=False, default="mine")
    status = serializers.ChoiceField(choices=ServicePlan.Status.choices, required=False)
    cursor = serializers.CharField(required=False)
    limit = serializers.CharField(required=False)


class ServicePlanPageOut(serializers.Serializer):
    results = ServicePlanOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class PlanActionOut(serializers.Serializer):
    plan = ServicePlanOut()
    occurrences_changed = serializers.IntegerField()
