"""Input validation and the JSON of matters. A neighbor's view (`full` false) carries no
personal data: no coordinates, no actor names, the reporter's name only if not hidden."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from cases.models import Case
from images.models import Image
from images.pipeline import absolute_url
from matters.access import sees_full
from matters.models import Matter
from residents.models import display_name


class MatterCreateIn(serializers.Serializer):
    item = serializers.IntegerField()
    text = serializers.CharField(max_length=1000, trim_whitespace=True)
    place = serializers.CharField(max_length=64, trim_whitespace=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True)
    neighborhood = serializers.IntegerField(required=False, allow_null=True)
    hide_name = serializers.BooleanField(default=False)
    photos = serializers.ListField(child=serializers.IntegerField(), default=list, max_length=9)
    insist = serializers.BooleanField(default=False, help_text="附近已有同类诉求时仍坚持提交")

    def validate(self, data):
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise serializers.ValidationError({"latitude": ["经纬度须同时提供"]})
        return data


class MatterReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, trim_whitespace=True)


class MatterMergeIn(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="并入哪一件（同一居委/村、先反映、未办结）")
    reason = serializers.CharField(max_length=500, trim_whitespace=True, required=False, allow_blank=True)


class MatterAnswerIn(serializers.Serializer):
    answer = serializers.CharField(max_length=2000, trim_whitespace=True)
    photos = serializers.ListField(child=serializers.IntegerField(), default=list, max_length=9,
                                   help_text="答复照片（POST /api/v1/images 上传后的 id，最多 9 张）")


class MatterJointIn(serializers.Serializer):
    units = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=5, help_text="请哪些单位会办")
    reason = serializers.CharField(max_length=500, trim_whitespace=True)


class MatterJointNoteIn(serializers.Serializer):
    text = serializers.CharField(max_length=2000, trim_whitespace=True)
    unit = serializers.IntegerField(required=False, help_text="以哪个会办单位的名义（同时在多个会办单位时）")


class MatterTransferIn(serializers.Serializer):
    unit = serializers.IntegerField()
    reason = serializers.CharField(max_length=500, trim_whitespace=True)
    override = serializers.BooleanField(default=False, help_text="工作人员强制转回已办理过的单位")


class MatterAcceptIn(serializers.Serializer):
    from_status = serializers.CharField(required=False, allow_blank=True)


class MatterRatingIn(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, trim_whitespace=True, required=False, allow_blank=True,
                                    help_text="评价留言（内容安全审核）")


class MatterListIn(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["mine", "neighborhood", "queue"], default="mine")
    neighborhood = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=Case.Status.choices, required=False)


def _unit(unit) -> dict | None:
    return None if unit is None else {"id": unit.pk, "name": unit.name, "kind": unit.kind}


def _coordinate(value) -> str | None:
    return None if value is None else f"{Decimal(value):.6f}"


def _photos(links, viewer) -> list[dict]:
    out = []
    for photo in links:
        image = photo.image
        # The rule of ImageLinkQuerySet.visible_to, applied to the prefetched rows.
        if image.status == Image.Status.PASSED or image.owner_id == viewer.pk:
            out.append({"id": image.pk, "url": absolute_url(image.file.name), "thumbnail_url": absolute_url(image.thumbnail.name)})
    return out


def matter_out(matter: Matter, viewer) -> dict:
    case = matter.case
    full = sees_full(viewer, matter)
    reporter = matter.reporter
    reporter_name = None
    if reporter is not None and (full or not matter.hide_name):
        reporter_name = display_name(reporter.nickname, reporter.first_name, reporter.last_name, reporter.username,
                                     reporter.deleted_at)
    now = timezone.now()
    body = {
        "id": matter.pk,
        "category": {"id": matter.category_id, "name": matter.category.name},
        "item": {"id": matter.item_id, "name": matter.item.name},
        "text": matter.text if (full or matter.text_status == Matter.TextStatus.PUBLISHED) else "",
        "text_status": matter.text_status if full else None,
        "place": matter.place,
        "neighborhood": {"id": matter.neighborhood_id, "name": matter.neighborhood.name},
        "status": case.status,
        "status_display": case.get_status_display(),
        "unit": _unit(case.unit),
        "supervising_unit": _unit(case.supervising_unit),
        "accept_due_at": case.accept_due_at,
        "resolve_due_at": case.resolve_due_at,
        "due_at": case.due_at,
        "is_overdue": case.due_at is not None and case.due_at < now,
        "answer": case.answer,
        "reject_reason": case.reject_reason,
        "supporters_count": matter.supporters_count,
        "merged_into": matter.merged_into_id,
        "source_post": matter.source_post_id,
        "reporter_name": reporter_name,
        "is_mine": matter.reporter_id == viewer.pk,
        "photos": _photos(matter.photos.all(), viewer),
        "answer_photos": _photos(case.answer_photos.all(), viewer),
        "joint_units": [_unit(joint.unit) for joint in sorted(case.joints.all(), key=lambda j: j.pk)],
        "created_at": matter.created_at,
    }
    if full:
        body.update({
            "latitude": _coordinate(matter.latitude), "longitude": _coordinate(matter.longitude), "hide_name": matter.hide_name,
            "rating": case.rating, "reopen_count": case.reopen_count, "resolved_at": case.resolved_at,
            "rating_comment": case.rating_comment, "rating_comment_status": case.rating_comment_status or None,
        })
    return body


def event_out(event, *, full: bool) -> dict:
    actor = event.actor
    return {
        "id": event.pk,
        "kind": event.kind,
        "kind_display": event.get_kind_display(),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "from_unit": _unit(event.from_unit),
        "to_unit": _unit(event.to_unit),
        "reason": event.reason if (full or event.kind != "reopened") else "",
        "actor_name": (
            display_name(actor.nickname, actor.first_name, actor.last_name, actor.username, actor.deleted_at)
            if (full and actor is not None) else None
        ),
        "created_at": event.created_at,
    }


class MatterOut(serializers.Serializer):
    """Schema only: the body is built by matter_out()."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    text = serializers.CharField()
    place = serializers.CharField()
    unit = serializers.DictField()
    due_at = serializers.DateTimeField(allow_null=True)
    is_overdue = serializers.BooleanField()
    supporters_count = serializers.IntegerField()


class MatterDetailOut(MatterOut):
    timeline = serializers.ListField(child=serializers.DictField())
    allowed_actions = serializers.ListField(child=serializers.CharField())


class MatterPageOut(serializers.Serializer):
    results = MatterOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class MatterItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    accept_hours = serializers.IntegerField()
    resolve_hours = serializers.IntegerField()


class MatterCategoryOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    items = MatterItemOut(many=True)


class MatterCatalogOut(serializers.Serializer):
    categories = MatterCategoryOut(many=True)
