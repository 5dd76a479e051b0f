"""Staff hide, restore or remove a topic's or a reply's text."""

from __future__ import annotations

from django.db import transaction

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from deliberation.access import is_topic_staff
from deliberation.actions.common import C, lock_topic, log_content, publish_topic, snapshot_reply, snapshot_topic
from deliberation.actions.moves import maybe_open_discussion
from deliberation.actions.replies import reply_became_public
from deliberation.models import CONTENT_TRANSITIONS, Reply, Topic, TopicReport
from residents.models import User

MODERATION_ACTIONS = ("hide", "restore", "remove")


_MODERATION_TARGET = {"hide": C.HIDDEN, "restore": C.PUBLISHED, "remove": C.REMOVED}


def do_moderate_topic(*, topic_id: int, actor: User, action: str, reason: str = "") -> Topic:
    """Staff hide, restore (also: approve a held topic) or remove a topic's text.

    Hiding or removing is for topics not yet put to the vote: a vote in progress is never
    pulled from under its voters. Two staff at once: the second gets 409."""
    if action not in MODERATION_ACTIONS:
        raise InvalidInput("invalid_action", "操作无效", field="action")
    with transaction.atomic():
        topic = lock_topic(topic_id)
        if not is_topic_staff(actor, topic):
            raise Forbidden("staff_only", "仅限本居委工作人员操作")
        target = _MODERATION_TARGET[action]
        if target not in CONTENT_TRANSITIONS[topic.content_status]:
            raise Conflict("content_state_changed", "内容状态已变化，请刷新", current=topic.content_status)
        if action != "restore" and topic.status not in Topic.PRE_VOTE:
            raise Conflict("topic_in_vote", "议题已进入表决，不能隐藏或删除", current=topic.status)
        log_content(topic, actor=actor, action=action, reason=reason, snapshot=snapshot_topic(topic))
        was_public = topic.is_public
        topic.content_status, topic.hidden_by_reports = target, False
        topic.save(update_fields=["content_status", "hidden_by_reports"])
        if action in ("restore", "remove"):
            # Reviewed: these reports are settled; new ones count afresh.
            TopicReport.objects.filter(topic=topic, reply__isnull=True, status=TopicReport.Status.OPEN).update(
                status=TopicReport.Status.RESOLVED
            )
        if was_public and not topic.is_public:
            publish_topic(topic, "topic.hidden", {"reason": action})
        elif topic.is_public and not was_public:
            publish_topic(topic, "topic.created", {"category": topic.category})
        if topic.is_public and not was_public:
            maybe_open_discussion(topic)
    return topic


def do_moderate_reply(*, topic_id: int, reply_id: int, actor: User, action: str, reason: str = "") -> Reply:
    """Staff hide, restore (also: approve a held reply) or remove a reply, with a log row."""
    if action not in MODERATION_ACTIONS:
        raise InvalidInput("invalid_action", "操作无效", field="action")
    with transaction.atomic():
        topic = lock_topic(topic_id)
        if not is_topic_staff(actor, topic):
            raise Forbidden("staff_only", "仅限本居委工作人员操作")
        reply = Reply.objects.select_for_update().filter(pk=reply_id, topic=topic).first()
        if reply is None:
            raise NotFound("reply_not_found", "发言不存在")
        target = _MODERATION_TARGET[action]
        if not reply.can_move_to(target):
            raise Conflict("content_state_changed", "内容状态已变化，请刷新", current=reply.content_status)
        log_content(topic, actor=actor, action=action, reason=reason, reply=reply, snapshot=snapshot_reply(reply))
        was_public = reply.content_status == C.PUBLISHED
        reply.content_status, reply.hidden_by_reports = target, False
        reply.save(update_fields=["content_status", "hidden_by_reports"])
        if action in ("restore", "remove"):
            TopicReport.objects.filter(reply=reply, status=TopicReport.Status.OPEN).update(
                status=TopicReport.Status.RESOLVED
            )
        if was_public and target != C.PUBLISHED:
            publish_topic(topic, "topic.reply_hidden", {"reply_id": reply.pk, "reason": action})
        elif target == C.PUBLISHED and not was_public:
            reply_became_public(topic, reply)
    return reply
