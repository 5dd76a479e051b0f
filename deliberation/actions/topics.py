"""Proposing a topic and the author's edits."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, Forbidden, NotFound
from deliberation.access import require_verified_home
from deliberation.actions.common import (
    C,
    S,
    lock_topic,
    log_content,
    publish_topic,
    schedule_recheck_content,
    snapshot_topic,
)
from deliberation.models import MAX_TOPIC_IMAGES, Follow, Topic, TopicContentLog, TopicEvent, TopicImage
from images.pipeline import validate_image_ids
from moderation.content import SCENE_FORUM, check_text
from residents.access import profile
from residents.models import Region, User


def _attach_images(topic: Topic, image_ids: list[int]) -> None:
    TopicImage.objects.filter(topic=topic).delete()
    TopicImage.objects.bulk_create(
        [TopicImage(topic=topic, image_id=image_id, position=i) for i, image_id in enumerate(image_ids)]
    )


def do_create_topic(
    *,
    actor: User,
    neighborhood_id: int,
    building_group_id: int | None,
    category: str,
    title: str,
    body: str,
    image_ids: list[int] | None = None,
) -> Topic:
    p = profile(actor)
    if neighborhood_id not in p.member_of | p.pending_in | p.staff_of:
        raise NotFound("neighborhood_not_found", "居委/村不存在")
    neighborhood = Region.objects.filter(pk=neighborhood_id, level=Region.Level.NEIGHBORHOOD).first()
    if neighborhood is None:
        raise NotFound("neighborhood_not_found", "居委/村不存在")
    group = None
    if building_group_id is not None:
        group = Region.objects.filter(
            pk=building_group_id, level=Region.Level.BUILDING_GROUP, parent_id=neighborhood_id
        ).first()
        if group is None:
            raise NotFound("building_group_not_found", "楼组不存在")
    draft = Topic(neighborhood=neighborhood, building_group=group)
    if neighborhood_id not in p.staff_of:
        from deliberation.access import home_in_scope

        if home_in_scope(actor, draft) is None:
            raise NotFound("building_group_not_found", "楼组不存在")
        require_verified_home(actor, draft)
    image_ids = validate_image_ids(actor, list(image_ids or []), limit=MAX_TOPIC_IMAGES)
    # Before the transaction: a network call must not hold locks. risky raises content_rejected here.
    check = check_text(user=actor, content=body, title=title, scene=SCENE_FORUM)
    with transaction.atomic():
        topic = Topic.objects.create(
            neighborhood=neighborhood,
            building_group=group,
            category=category,
            title=title,
            body=body,
            author=actor,
            content_status=check.status,
            content_trace_id=check.trace_id,
        )
        _attach_images(topic, image_ids)
        Follow.objects.create(topic=topic, user=actor)
        TopicEvent.objects.create(topic=topic, actor=actor, from_status="", to_status=S.PROPOSED, note="提出议题")
        if topic.is_public:
            publish_topic(topic, "topic.created", {"category": category})
        elif topic.content_status == C.PENDING_CHECK:
            schedule_recheck_content()
    return topic


def do_edit_topic(
    *,
    topic_id: int,
    actor: User,
    title: str | None = None,
    body: str | None = None,
    image_ids: list[int] | None = None,
) -> Topic:
    """The author edits a proposed topic within the edit window. Changed text is checked again
    (a held topic stays held); the text before is kept in the content log."""
    current = Topic.objects.filter(pk=topic_id).first()
    if current is None:
        raise NotFound("topic_not_found", "议题不存在")
    if current.author_id != actor.pk:
        raise Forbidden("author_only", "只有提议人可以修改议题")
    new_title = current.title if title is None else title
    new_body = current.body if body is None else body
    if image_ids is not None:
        image_ids = validate_image_ids(actor, list(image_ids), limit=MAX_TOPIC_IMAGES)
    text_changed = (new_title, new_body) != (current.title, current.body)
    check = check_text(user=actor, content=new_body, title=new_title, scene=SCENE_FORUM) if text_changed else None
    with transaction.atomic():
        topic = lock_topic(topic_id)
        if not topic.can_edit(actor):
            raise Conflict(
                "topic_not_editable",
                "议题已进入讨论、已超过可修改时间或已被隐藏",
                current=topic.status,
                content_status=topic.content_status,
            )
        log_content(topic, actor=actor, action=TopicContentLog.Action.EDIT, snapshot=snapshot_topic(topic))
        was_public = topic.is_public
        topic.title, topic.body, topic.edited_at = new_title, new_body, timezone.now()
        if check is not None:
            topic.content_trace_id = check.trace_id
            # A topic staff hold for review stays held; otherwise the new text's verdict decides.
            if topic.content_status != C.PENDING_REVIEW:
                topic.content_status = check.status
        if image_ids is not None:
            _attach_images(topic, image_ids)
        topic.save(update_fields=["title", "body", "edited_at", "content_status", "content_trace_id"])
        if topic.is_public:
            publish_topic(topic, "topic.updated" if was_public else "topic.created", {})
        elif was_public:
            publish_topic(topic, "topic.hidden", {"reason": "edited_pending_check"})
        if topic.content_status == C.PENDING_CHECK:
            schedule_recheck_content()
    return topic
