"""Discussion: residents' replies with a stance and staff's official replies."""

from __future__ import annotations

from django.db import transaction

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from deliberation.access import is_topic_staff, require_verified_home
from deliberation.actions.common import (
    C,
    lock_topic,
    notify_audience,
    publish_topic,
    require_public,
    schedule_recheck_content,
)
from deliberation.models import Reply, Topic
from moderation.content import SCENE_COMMENT, TextCheck, check_text
from residents.models import User


def check_add_reply(*, topic_id: int, actor: User, body: str, stance: str, official: bool) -> TextCheck:
    """Before any transaction: who may reply, then WeChat's check of the text (risky → 400)."""
    topic = Topic.objects.filter(pk=topic_id).first()
    if topic is None:
        raise NotFound("topic_not_found", "议题不存在")
    # Who may reply is checked before asking WeChat; the lock below re-checks the stage.
    if official:
        if not is_topic_staff(actor, topic):
            raise Forbidden("staff_only", "只有本居委工作人员可以发布官方回复")
    else:
        require_verified_home(actor, topic)
        if not stance:
            raise InvalidInput("stance_required", "请选择立场：赞成、反对或中立", field="stance")
    if topic.status not in Topic.REPLYABLE:
        raise Conflict("discussion_closed", "议题讨论已结束", current=topic.status)
    require_public(topic)
    return check_text(user=actor, content=body, scene=SCENE_COMMENT)


def do_add_reply(*, topic_id: int, actor: User, body: str, stance: str = "", official: bool = False) -> Reply:
    """A resident's reply (with a stance) or staff's official reply. The checks
    (check_add_reply) run before the transaction; the reply is public (counted, announced,
    notified) only once its text passed."""
    check = check_add_reply(topic_id=topic_id, actor=actor, body=body, stance=stance, official=official)
    with transaction.atomic():
        topic = lock_topic(topic_id)
        if topic.status not in Topic.REPLYABLE:
            raise Conflict("discussion_closed", "议题讨论已结束", current=topic.status)
        require_public(topic)
        reply = Reply.objects.create(
            topic=topic,
            author=actor,
            body=body,
            stance=stance,
            is_official=official,
            content_status=check.status,
            content_trace_id=check.trace_id,
        )
        if reply.content_status == C.PUBLISHED:
            reply_became_public(topic, reply)
        elif reply.content_status == C.PENDING_CHECK:
            schedule_recheck_content()
    return reply


def reply_became_public(topic: Topic, reply: Reply) -> None:
    publish_topic(topic, "topic.replied", {"reply_id": reply.pk, "official": reply.is_official})
    if reply.is_official:
        notify_audience(
            topic,
            title=f"议题「{topic.title[:40]}」有官方回复",
            body=reply.body[:200],
            event_key=f"topic:{topic.pk}:reply:{reply.pk}",
            exclude=reply.author,
        )
