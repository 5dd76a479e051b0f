"""Small input/output serializers, one pair per endpoint (HackSoft style)."""

from __future__ import annotations

from rest_framework import serializers

from deliberation.actions.moderation import MODERATION_ACTIONS
from deliberation.models import ContentStatus, Milestone, Reply, Topic, TopicReport, Vote
from images.pipeline import absolute_url

# --- inputs ----------------------------------------------------------------------------


IMAGE_IDS_HELP = "POST /api/v1/images 上传后得到的图片 id（本人上传，最多 9 张）"


class TopicCreateIn(serializers.Serializer):
    neighborhood = serializers.IntegerField(min_value=1)
    building_group = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    category = serializers.ChoiceField(choices=Topic.Category.choices)
    title = serializers.CharField(max_length=80, min_length=2)
    body = serializers.CharField(max_length=5000, min_length=1)
    image_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=9,
        help_text=IMAGE_IDS_HELP,
    )


class TopicListQuery(serializers.Serializer):
    neighborhood = serializers.IntegerField(min_value=1, required=False)
    building_group = serializers.IntegerField(min_value=1, required=False)
    status = serializers.ChoiceField(choices=Topic.Status.choices, required=False)
    category = serializers.ChoiceField(choices=Topic.Category.choices, required=False)
    content_status = serializers.ChoiceField(
        choices=ContentStatus.choices, required=False, help_text="工作人员查看待审核议题：pending_review"
    )
    cursor = serializers.CharField(required=False, allow_blank=True)
    limit = serializers.IntegerField(min_value=1, max_value=100, required=False)


class ModerationQueueQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("topic", "议题"), ("reply", "发言")], required=False, default="topic")
    neighborhood = serializers.IntegerField(min_value=1, required=False)
    cursor = serializers.CharField(required=False, allow_blank=True)


class TopicReportIn(serializers.Serializer):
    reason = serializers.ChoiceField(choices=TopicReport.Reason.choices)
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class VoteRulesIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Vote.Kind.choices)
    options = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20)
    max_choices = serializers.IntegerField(required=False)
    unit = serializers.ChoiceField(choices=Vote.Unit.choices, required=False)
    opens_at = serializers.DateTimeField(required=False)
    closes_at = serializers.DateTimeField()
    quorum_percent = serializers.DecimalField(max_digits=7, decimal_places=2, required=False)
    pass_rule = serializers.ChoiceField(choices=Vote.PassRule.choices)
    is_major_matter = serializers.BooleanField(required=False, default=False)
    allow_change = serializers.BooleanField(required=False, default=False)


class TopicTransitionIn(serializers.Serializer):
    to = serializers.ChoiceField(choices=Topic.Status.choices)
    # Optional optimistic check: the status the caller saw; a mismatch is 409.
    from_status = serializers.ChoiceField(choices=Topic.Status.choices, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    summary = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    vote = VoteRulesIn(required=False)
    merge_into = serializers.IntegerField(min_value=1, required=False)
    evaluation_closes_at = serializers.DateTimeField(required=False)
    stop_implementation = serializers.BooleanField(
        required=False,
        default=False,
        help_text="终止实施: move implementing → evaluating before every milestone is at 100 %; needs a note residents see",
    )


class TopicEditIn(serializers.Serializer):
    title = serializers.CharField(max_length=80, min_length=2, required=False)
    body = serializers.CharField(max_length=5000, min_length=1, required=False)
    image_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=9, help_text=IMAGE_IDS_HELP
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("没有要修改的内容")
        return attrs


class ModerationIn(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=MODERATION_ACTIONS, help_text="hide 隐藏 / restore 恢复（也用于通过待审核内容）/ remove 删除"
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReplyListQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True)
    stance = serializers.ChoiceField(choices=Reply.Stance.choices, required=False)
    content_status = serializers.ChoiceField(
        choices=ContentStatus.choices, required=False, help_text="工作人员查看待审核/已隐藏发言"
    )


class ReplyIn(serializers.Serializer):
    body = serializers.CharField(max_length=2000, min_length=1)
    stance = serializers.ChoiceField(choices=Reply.Stance.choices, required=False, allow_blank=True, default="")
    official = serializers.BooleanField(required=False, default=False)


class BallotIn(serializers.Serializer):
    choice = serializers.CharField(max_length=32, required=False)
    choices = serializers.ListField(child=serializers.CharField(max_length=32), required=False, max_length=20)

    def validate(self, attrs):
        if ("choice" in attrs) == ("choices" in attrs):
            raise serializers.ValidationError("请提供 choice（单选）或 choices（多选）之一")
        return {"choices": [attrs["choice"]] if "choice" in attrs else attrs["choices"]}


class MilestoneIn(serializers.Serializer):
    title = serializers.CharField(max_length=80)
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=Milestone.Status.choices, required=False, default=Milestone.Status.PLANNED)
    progress = serializers.IntegerField(min_value=0, max_value=100, required=False, default=0)
    responsible_party = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    image_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=9,
        help_text=IMAGE_IDS_HELP,
    )


class MilestonePatchIn(serializers.Serializer):
    title = serializers.CharField(max_length=80, required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=Milestone.Status.choices, required=False)
    progress = serializers.IntegerField(min_value=0, max_value=100, required=False)
    responsible_party = serializers.CharField(max_length=64, required=False, allow_blank=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    image_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=9,
        help_text="替换全部现场照片（" + IMAGE_IDS_HELP + "）",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("没有要修改的字段")
        return attrs


class EvaluationIn(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- outputs ---------------------------------------------------------------------------


class RegionRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ThumbnailOut(serializers.Serializer):
    id = serializers.IntegerField(source="image.id")
    status = serializers.CharField(source="image.status", help_text="passed 之前只有上传者能看到")
    thumbnail_url = serializers.SerializerMethodField()

    def get_thumbnail_url(self, link) -> str:
        return absolute_url(link.image.thumbnail.name)


class ImageOut(ThumbnailOut):
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField(source="image.width")
    height = serializers.IntegerField(source="image.height")

    def get_url(self, link) -> str:
        return absolute_url(link.image.file.name)


class TopicListItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField(source="get_category_display")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    content_status = serializers.CharField(help_text="published 之外只有提议人和工作人员能看到")
    outcome = serializers.CharField()
    neighborhood = RegionRefOut()
    building_group = RegionRefOut(allow_null=True)
    author_name = serializers.CharField(source="author.display_name")
    support_count = serializers.IntegerField()
    support_households = serializers.IntegerField()
    reply_count = serializers.IntegerField()
    progress = serializers.SerializerMethodField()
    supported_by_me = serializers.BooleanField()
    followed_by_me = serializers.BooleanField()
    voted_by_me = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField()
    thumbnails = ThumbnailOut(source="visible_images", many=True, help_text="缩略图（列表只给缩略图）")

    def get_progress(self, topic) -> int:
        return round(topic.progress_avg) if topic.progress_avg is not None else 0


class VoteOut(serializers.Serializer):
    kind = serializers.CharField()
    options = serializers.ListField(child=serializers.DictField())
    max_choices = serializers.IntegerField()
    unit = serializers.CharField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    quorum_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    pass_rule = serializers.CharField()
    pass_rule_label = serializers.CharField(source="get_pass_rule_display")
    is_major_matter = serializers.BooleanField()
    allow_change = serializers.BooleanField()


class DecisionOut(serializers.Serializer):
    outcome = serializers.CharField()
    outcome_label = serializers.CharField(source="get_outcome_display")
    rule = serializers.CharField()
    tally = serializers.DictField()
    figures = serializers.DictField()
    winning_option = serializers.CharField()
    decided_at = serializers.DateTimeField()


class MilestoneOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    progress = serializers.IntegerField()
    responsible_party = serializers.CharField()
    note = serializers.CharField()
    updated_at = serializers.DateTimeField()
    photos = ImageOut(source="visible_photos", many=True, help_text="现场照片（审核通过的，或本人上传的）")


class TopicEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    actor_name = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_actor_name(self, event) -> str:
        return event.actor.display_name if event.actor else "系统"


class MyBallotOut(serializers.Serializer):
    choices = serializers.ListField(child=serializers.CharField())
    cast_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TopicDetailOut(TopicListItemOut):
    body = serializers.CharField()
    edited_at = serializers.DateTimeField(allow_null=True)
    can_edit = serializers.BooleanField(source="editable_by_me", help_text="提议人在可修改时间内")
    images = ImageOut(source="visible_images", many=True, help_text="原图与缩略图")
    summary = serializers.CharField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    support_threshold = serializers.IntegerField()
    vote = VoteOut(source="vote_rules", allow_null=True)
    my_ballot = MyBallotOut(allow_null=True)
    household_voted = serializers.BooleanField()
    decision = DecisionOut(source="decision_row", allow_null=True)
    milestones = MilestoneOut(source="milestones_list", many=True)
    evaluation_closes_at = serializers.DateTimeField(allow_null=True)
    evaluation_summary = serializers.DictField(allow_null=True)
    my_evaluation = serializers.DictField(allow_null=True)
    events = TopicEventOut(source="events_list", many=True)
    can_manage = serializers.BooleanField()


class ReplyOut(serializers.Serializer):
    id = serializers.IntegerField()
    author_name = serializers.CharField(source="author.display_name")
    stance = serializers.CharField()
    stance_label = serializers.CharField(source="get_stance_display")
    is_official = serializers.BooleanField()
    body = serializers.CharField()
    content_status = serializers.CharField(help_text="published 之外只有作者和工作人员能看到")
    created_at = serializers.DateTimeField()


class ReplyPageOut(serializers.Serializer):
    results = ReplyOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class TopicPageOut(serializers.Serializer):
    results = TopicListItemOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class SupportOut(serializers.Serializer):
    topic_id = serializers.IntegerField()
    supported = serializers.BooleanField()
    support_households = serializers.IntegerField()
    support_threshold = serializers.IntegerField()
    status = serializers.CharField()


class FollowOut(serializers.Serializer):
    topic_id = serializers.IntegerField()
    following = serializers.BooleanField()


class BallotOut(serializers.Serializer):
    topic_id = serializers.IntegerField()
    choices = serializers.ListField(child=serializers.CharField())
    receipt_code = serializers.CharField(help_text="回执码：只显示这一次，请保存，用于核验选票是否按所投计入")
    changed = serializers.BooleanField()
    cast_at = serializers.DateTimeField()


class ReceiptOut(serializers.Serializer):
    topic_id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[("recorded", "已记录"), ("counted", "已计入结果"), ("superseded", "已被改票替换")]
    )
    choices = serializers.ListField(child=serializers.CharField())
    recorded_at = serializers.DateTimeField()


class EvaluationOut(serializers.Serializer):
    id = serializers.IntegerField()
    topic_id = serializers.IntegerField()
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class EvaluationListItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    user_name = serializers.CharField(source="user.display_name")
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class EvaluationPageOut(serializers.Serializer):
    results = EvaluationListItemOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class MyTopicOut(TopicListItemOut):
    hidden_by_reports = serializers.BooleanField()


class QueueTopicOut(TopicListItemOut):
    open_report_count = serializers.IntegerField()
    hidden_by_reports = serializers.BooleanField()


class QueueReplyOut(ReplyOut):
    topic_id = serializers.IntegerField()
    open_report_count = serializers.IntegerField()
    hidden_by_reports = serializers.BooleanField()


class TopicReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    topic_id = serializers.IntegerField()
    reply_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class MyTopicPageOut(serializers.Serializer):
    results = MyTopicOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class QueueTopicPageOut(serializers.Serializer):
    results = QueueTopicOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class QueueReplyPageOut(serializers.Serializer):
    results = QueueReplyOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)
