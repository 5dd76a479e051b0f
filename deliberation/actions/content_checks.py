"""Late content checks: text saved while WeChat was unreachable is checked again."""

from __future__ import annotations

from django.db import transaction

from deliberation.actions.common import C, lock_topic, log_content, publish_topic, snapshot_reply, snapshot_topic
from deliberation.actions.moves import maybe_open_discussion
from deliberation.actions.replies import reply_became_public
from deliberation.models import Reply, Topic, TopicContentLog
from moderation import recheck
from moderation.content import TextCheck


def apply_late_verdict(item: Topic | Reply, check: TextCheck | None) -> str:
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
    """Check again the topics and replies saved while WeChat was unreachable; never public before
    (moderation's shared sweep, limited to 议事's kinds; `apply_late_verdict` is their apply)."""
    return recheck.recheck_pending(names=("deliberation.topic", "deliberation.reply"), limit=limit)
