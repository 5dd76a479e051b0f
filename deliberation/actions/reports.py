"""举报 in 议事, with the feed's rules (docs/community.md, Reports): one report per user per
topic or reply (database constraints; a repeat is 409 `already_reported`); when the open reports
reach the neighborhood's `report_hide_threshold` (default 3) the item is hidden until staff review
it, and it waits in the staff's moderation queue. Staff `restore` or `remove` settles the open
reports (deliberation.actions.moderation: do_moderate_topic / do_moderate_reply).

One rule of 议事 wins over the feed's: a topic already put to the vote is never hidden from under
its voters, so reports on it only queue it for staff."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q

from core.errors import Conflict, InvalidInput, NotFound
from deliberation.actions.common import lock_topic, log_content, publish_topic, snapshot_reply, snapshot_topic
from deliberation.models import DEFAULT_REPORT_HIDE_THRESHOLD, ContentStatus, Reply, Topic, TopicContentLog, TopicReport
from residents.models import User


def _threshold(topic: Topic) -> int:
    try:
        return max(1, int(topic.neighborhood.setting("report_hide_threshold", DEFAULT_REPORT_HIDE_THRESHOLD)))
    except (TypeError, ValueError):
        return DEFAULT_REPORT_HIDE_THRESHOLD


def check_report_reply(*, actor: User, topic: Topic, reply_id: int) -> Reply:
    """The reply, if the actor can read it (published, or their own not removed); else 404."""
    reply = (
        Reply.objects.filter(pk=reply_id, topic=topic)
        .filter(Q(content_status=ContentStatus.PUBLISHED) | Q(author_id=actor.pk))
        .exclude(content_status=ContentStatus.REMOVED)
        .first()
    )
    if reply is None:
        raise NotFound("reply_not_found", "发言不存在")
    return reply


def do_report(*, actor: User, topic: Topic, reply: Reply | None = None, reason: str, note: str = "") -> TopicReport:
    """Record one report on a topic (or on one of its replies) the actor can see (the caller
    ran access_topic / check_report_reply). The Nth distinct reporter hides the item.

    Takes the topic's row lock (like every 议事 write) so two last reports cannot both miss the
    threshold, and a staff decision in between is seen."""
    if reason not in TopicReport.Reason.values:
        raise InvalidInput("invalid_reason", "举报原因无效", fields={"reason": reason})
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        try:
            with transaction.atomic():
                report = TopicReport.objects.create(reporter=actor, topic=locked, reply=reply, reason=reason, note=note)
        except IntegrityError:
            raise Conflict("already_reported", "您已举报过该内容") from None
        threshold = _threshold(topic)
        if reply is None:
            open_reports = TopicReport.objects.filter(
                topic=locked, reply__isnull=True, status=TopicReport.Status.OPEN
            ).count()
            if (
                open_reports >= threshold
                and locked.content_status == ContentStatus.PUBLISHED
                and locked.status in Topic.PRE_VOTE
            ):
                snapshot = snapshot_topic(locked)
                locked.content_status, locked.hidden_by_reports = ContentStatus.HIDDEN, True
                locked.save(update_fields=["content_status", "hidden_by_reports"])
                log_content(locked, actor=None, action=TopicContentLog.Action.AUTO_HIDE, reason=f"{open_reports} 人举报",
                     snapshot=snapshot)
                publish_topic(locked, "topic.hidden", {"reason": "reports"})
        else:
            target = Reply.objects.select_for_update().get(pk=reply.pk)
            open_reports = TopicReport.objects.filter(reply=target, status=TopicReport.Status.OPEN).count()
            if open_reports >= threshold and target.content_status == ContentStatus.PUBLISHED:
                snapshot = snapshot_reply(target)
                target.content_status, target.hidden_by_reports = ContentStatus.HIDDEN, True
                target.save(update_fields=["content_status", "hidden_by_reports"])
                log_content(locked, actor=None, action=TopicContentLog.Action.AUTO_HIDE, reply=target,
                     reason=f"{open_reports} 人举报", snapshot=snapshot)
                publish_topic(locked, "topic.reply_hidden", {"reply_id": target.pk, "reason": "reports"})
    return report
