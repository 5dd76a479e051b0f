"""Implementation milestones and the topic's progress."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Avg

from core.errors import Conflict, NotFound
from deliberation.actions.common import S, check_actor, lock_topic, notify_audience, publish_topic
from deliberation.models import MAX_MILESTONE_PHOTOS, Milestone, MilestonePhoto, MilestoneUpdate, Topic
from images.pipeline import validate_image_ids
from residents.models import User

MILESTONE_FIELDS = ("title", "due_date", "status", "progress", "responsible_party", "note")


def _milestone_audit(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def do_add_milestone(
    *,
    topic_id: int,
    actor: User,
    title: str,
    due_date: date | None = None,
    status: str = Milestone.Status.PLANNED,
    progress: int = 0,
    responsible_party: str = "",
    note: str = "",
    image_ids: list[int] | None = None,
) -> Milestone:
    """Staff add a milestone, with site photos they uploaded themselves."""
    image_ids = validate_image_ids(actor, list(image_ids or []), limit=MAX_MILESTONE_PHOTOS)
    with transaction.atomic():
        topic = lock_topic(topic_id)
        check_actor(topic, actor, S.IMPLEMENTING)
        if topic.status != S.IMPLEMENTING:
            raise Conflict("topic_not_implementing", "议题不在实施阶段", current=topic.status)
        if status == Milestone.Status.DONE:
            progress = 100
        milestone = Milestone.objects.create(
            topic=topic,
            title=title,
            due_date=due_date,
            status=status,
            progress=progress,
            responsible_party=responsible_party,
            note=note,
            created_by=actor,
        )
        _attach_photos(milestone, image_ids)
        changes = {f: _milestone_audit(getattr(milestone, f)) for f in MILESTONE_FIELDS}
        if image_ids:
            changes["photos"] = image_ids
        _milestone_updated(topic, milestone, actor, changes, created=True)
    return milestone


def _attach_photos(milestone: Milestone, image_ids: list[int]) -> None:
    MilestonePhoto.objects.filter(milestone=milestone).delete()
    MilestonePhoto.objects.bulk_create(
        [MilestonePhoto(milestone=milestone, image_id=image_id, position=i) for i, image_id in enumerate(image_ids)]
    )


def do_update_milestone(*, topic_id: int, milestone_id: int, actor: User, changes: dict[str, Any]) -> Milestone:
    """Change fields of a milestone; `changes["image_ids"]` replaces its photos (the actor's uploads)."""
    changes = dict(changes)
    image_ids = changes.pop("image_ids", None)
    if image_ids is not None:
        image_ids = validate_image_ids(actor, list(image_ids), limit=MAX_MILESTONE_PHOTOS)
    with transaction.atomic():
        topic = lock_topic(topic_id)
        check_actor(topic, actor, S.IMPLEMENTING)
        try:
            milestone = Milestone.objects.select_for_update().get(pk=milestone_id, topic=topic)
        except Milestone.DoesNotExist:
            raise NotFound("milestone_not_found", "实施节点不存在") from None
        if topic.status != S.IMPLEMENTING:
            raise Conflict("topic_not_implementing", "议题不在实施阶段", current=topic.status)
        if changes.get("status") == Milestone.Status.DONE:
            changes["progress"] = 100
        diff = {}
        for name, value in changes.items():
            if name in MILESTONE_FIELDS and getattr(milestone, name) != value:
                diff[name] = {"from": _milestone_audit(getattr(milestone, name)), "to": _milestone_audit(value)}
                setattr(milestone, name, value)
        if image_ids is not None:
            before = list(MilestonePhoto.objects.filter(milestone=milestone).values_list("image_id", flat=True))
            if before != image_ids:
                diff["photos"] = {"from": before, "to": image_ids}
                _attach_photos(milestone, image_ids)
        if diff:
            milestone.save()
            _milestone_updated(topic, milestone, actor, diff, created=False)
    return milestone


def _milestone_updated(topic: Topic, milestone: Milestone, actor: User, changes: dict, *, created: bool) -> None:
    update = MilestoneUpdate.objects.create(milestone=milestone, actor=actor, changes=changes)
    progress = topic_progress(topic)
    publish_topic(topic, "topic.milestone_updated", {"milestone_id": milestone.pk, "progress": progress})
    verb = "新增实施节点" if created else "实施节点更新"
    notify_audience(
        topic,
        title=f"议题「{topic.title[:40]}」{verb}",
        body=f"{milestone.title}：{milestone.get_status_display()} {milestone.progress}%（总体进度 {progress}%）",
        event_key=f"topic:{topic.pk}:milestone_update:{update.pk}",
        exclude=actor,
    )


def topic_progress(topic: Topic) -> int:
    avg = Milestone.objects.filter(topic=topic).aggregate(p=Avg("progress"))["p"]
    return round(avg) if avg is not None else 0
