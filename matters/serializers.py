"""Input validation and the JSON of matters. A neighbor's view (`full` false) carries no
personal data: no coordinates, no actor names, the reporter's name only if not hidden."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from cases.models import Case
from images.models import Image
from images.pipeline import absolute_url
from matters.access import sees_full, sees_full_row
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


def _image(link) -> dict:
    image = link.image
    return {"image_id": image.pk, "image__status": image.status, "image__owner_id": image.owner_id,
            "image__file": image.file.name, "image__thumbnail": image.thumbnail.name}


def _photos(images: list[dict], viewer) -> list[dict]:
    return [
        {"id": image["image_id"], "url": absolute_url(image["image__file"]), "thumbnail_url": absolute_url(image["image__thumbnail"])}
        # The rule of ImageLinkQuerySet.visible_to, applied to the page's rows.
        for image in images
        if image["image__status"] == Image.Status.PASSED or image["image__owner_id"] == viewer.pk
    ]


def row_of(matter: Matter) -> dict:
    """The list's row (matters.queries.ROW_FIELDS, `photos`, `answer_photos`, `joints`) from a
    matter loaded as matters.access.access_matter loads it: the detail's side of matter_body."""
    case, reporter = matter.case, matter.reporter
    unit, supervising = case.unit, case.supervising_unit
    return {
        "id": matter.pk, "case_id": matter.case_id, "category_id": matter.category_id, "category__name": matter.category.name,
        "item_id": matter.item_id, "item__name": matter.item.name, "text": matter.text, "text_status": matter.text_status,
        "place": matter.place, "neighborhood_id": matter.neighborhood_id, "neighborhood__name": matter.neighborhood.name,
        "case__status": case.status, "case__unit_id": case.unit_id, "case__unit__name": unit.name, "case__unit__kind": unit.kind,
        "case__supervising_unit_id": case.supervising_unit_id,
        "case__supervising_unit__name": supervising.name if supervising else None,
        "case__supervising_unit__kind": supervising.kind if supervising else None,
        "case__accept_due_at": case.accept_due_at, "case__resolve_due_at": case.resolve_due_at, "case__due_at": case.due_at,
        "case__answer": case.answer, "case__reject_reason": case.reject_reason, "supporters_count": matter.supporters_count,
        "merged_into_id": matter.merged_into_id, "source_post_id": matter.source_post_id, "reporter_id": matter.reporter_id,
        "reporter__nickname": reporter.nickname if reporter else None,
        "reporter__first_name": reporter.first_name if reporter else None,
        "reporter__last_name": reporter.last_name if reporter else None,
        "reporter__username": reporter.username if reporter else None,
        "reporter__deleted_at": reporter.deleted_at if reporter else None,
        "hide_name": matter.hide_name, "created_at": matter.created_at, "latitude": matter.latitude,
        "longitude": matter.longitude, "case__rating": case.rating, "case__reopen_count": case.reopen_count,
        "case__resolved_at": case.resolved_at, "case__rating_comment": case.rating_comment,
        "case__rating_comment_status": case.rating_comment_status,
        "photos": [_image(link) for link in matter.photos.all()],
        "answer_photos": [_image(link) for link in case.answer_photos.all()],
        "joints": [_unit(joint.unit) for joint in sorted(case.joints.all(), key=lambda j: j.pk)],
    }


STATUS_DISPLAY = dict(Case.Status.choices)


def _row_unit(row: dict, prefix: str) -> dict | None:
    unit_id = row[f"{prefix}_id"]
    return None if unit_id is None else {"id": unit_id, "name": row[f"{prefix}__name"], "kind": row[f"{prefix}__kind"]}


def matter_body(row: dict, viewer, *, full: bool) -> dict:
    """A matter's JSON from its row (a list's, or row_of(matter) for the detail). A neighbor's
    view (`full` false) carries no personal data."""
    reporter_name = None
    if row["reporter_id"] is not None and (full or not row["hide_name"]):
        reporter_name = display_name(row["reporter__nickname"], row["reporter__first_name"], row["reporter__last_name"],
                                     row["reporter__username"], row["reporter__deleted_at"])
    status, due_at = row["case__status"], row["case__due_at"]
    body = {
        "id": row["id"],
        "category": {"id": row["category_id"], "name": row["category__name"]},
        "item": {"id": row["item_id"], "name": row["item__name"]},
        "text": row["text"] if (full or row["text_status"] == Matter.TextStatus.PUBLISHED) else "",
        "text_status": row["text_status"] if full else None,
        "place": row["place"],
        "neighborhood": {"id": row["neighborhood_id"], "name": row["neighborhood__name"]},
        "status": status,
        "status_display": STATUS_DISPLAY.get(status, status),
        "unit": _row_unit(row, "case__unit"),
        "supervising_unit": _row_unit(row, "case__supervising_unit"),
        "accept_due_at": row["case__accept_due_at"],
        "resolve_due_at": row["case__resolve_due_at"],
        "due_at": due_at,
        "is_overdue": due_at is not None and due_at < timezone.now(),
        "answer": row["case__answer"],
        "reject_reason": row["case__reject_reason"],
        "supporters_count": row["supporters_count"],
        "merged_into": row["merged_into_id"],
        "source_post": row["source_post_id"],
        "reporter_name": reporter_name,
        "is_mine": row["reporter_id"] == viewer.pk,
        "photos": _photos(row["photos"], viewer),
        "answer_photos": _photos(row["answer_photos"], viewer),
        "joint_units": row["joints"],
        "created_at": row["created_at"],
    }
    if full:
        body.update({
            "latitude": _coordinate(row["latitude"]), "longitude": _coordinate(row["longitude"]), "hide_name": row["hide_name"],
            "rating": row["case__rating"], "reopen_count": row["case__reopen_count"], "resolved_at": row["case__resolved_at"],
            "rating_comment": row["case__rating_comment"], "rating_comment_status": row["case__rating_comment_status"] or None,
        })
    return body


def matter_out(matter: Matter, viewer) -> dict:
    """The detail's body (without its timeline and moves)."""
    return matter_body(row_of(matter), viewer, full=sees_full(viewer, matter))


def matter_row_out(row: dict, viewer) -> dict:
    """A list item, from a row of matters.queries.rows with matters.queries.attach."""
    return matter_body(row, viewer, full=sees_full_row(viewer, row))


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
    """Schema only: the body is built by matter_body()."""

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
