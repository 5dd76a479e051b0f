"""Late content checks: text saved while WeChat was unreachable is checked again."""

from __future__ import annotations

from django.db import transaction

from core.content import SCENE_COMMENT, SCENE_FORUM, TextCheck, recheck_text
from deliberation.actions.common import C, lock_topic, log_content, publish_topic, snapshot_reply, snapshot_topic
from deliberation.actions.moves import maybe_open_discussion
from deliberation.actions.replies import reply_became_public
from deliberation.models import Reply, Topic, TopicContentLog


def _apply_late_verdict(item: Topic | Reply, check: TextCheck | None) -> str:
    """Under the topic lock, move an item still pending_check to what the verdict says (None = risky)."""
    topic_id = item.pk if isinstance(item, Topic) else item.topic_id
    with transaction.atomic():
        topic = lock_topic(topic_id)
        locked: Topic | Reply = topic if isinstance(item, Topic) else Reply.objects.select_for_update().get(pk=item.pk)
        if locked.content_status != C.PENDING_CHECK:
            return "skipped"  # moderated or edited meanwhile
        reply = locked if isinstance(locked, Reply) else None
        snapshot = snapshot_reply(reply) if reply else snapshot_topic(topic)
        if check is None:
            locked.content_status = C.REMOVED
            locked.save(update_fields=["content_status"])
            log_content(
                topic,
                actor=None,
                action=TopicContentLog.Action.CONTENT_CHECK,
                reason="内容安全检测未通过",
                reply=reply,
                snapshot=snapshot,
            )
            return "removed"
        locked.content_status, locked.content_trace_id = check.status, check.trace_id
        locked.save(update_fields=["content_status", "content_trace_id"])
        if check.status != C.PUBLISHED:
            return "review"
        if reply is not None:
            reply_became_public(topic, reply)
        else:
            publish_topic(topic, "topic.created", {"category": topic.category})
            maybe_open_discussion(topic)
        return "published"


def recheck_pending(*, limit: int = 100) -> dict[str, int]:
    """Check again the topics and replies saved while WeChat was unreachable; never public before."""
    done = {"published": 0, "review": 0, "removed": 0, "still_pending": 0}
    items: list[Topic | Reply] = [
        *Topic.objects.filter(content_status=C.PENDING_CHECK).select_related("author").order_by("created_at")[:limit],
        *Reply.objects.filter(content_status=C.PENDING_CHECK).select_related("author").order_by("created_at")[:limit],
    ]
    for item in items:
        if isinstance(item, Topic):
            check = recheck_text(user=item.author, content=item.body, title=item.title, scene=SCENE_FORUM)
        else:
            check = recheck_text(user=item.author, content=item.body, scene=SCENE_COMMENT)
        if check is not None and check.status == C.PENDING_CHECK:
            done["still_pending"] += 1
            continue
        outcome = _apply_late_verdict(item, check)
        if outcome in done:
            done[outcome] += 1
    return done
