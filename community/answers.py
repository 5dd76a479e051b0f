"""发帖必响应 deadlines: a resident post the committee has not answered by its `answer_due_at`
is escalated once to the street's officers (inbox + WeChat where consented, and an event on
the staff streams), the way a late service request is told about
(services.actions.deadlines.tell_request_overdue, called by the case engine's sweep)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from community.models import ContentStatus, Post
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from notifications.realtime import publish_on_commit
from residents.access import profile
from residents.models import Role, User

logger = logging.getLogger(__name__)

# One sweep handles at most this many; the next minute's sweep takes the rest.
ESCALATION_BATCH = 1000


def overdue_unanswered(now: dt.datetime) -> Q:
    """Published neighborhood posts that owe an answer and are past their deadline without one."""
    return Q(
        scope=Post.Scope.NEIGHBORHOOD,
        needs_answer=True,
        answered_at__isnull=True,
        status=ContentStatus.PUBLISHED,
        answer_due_at__lt=now,
    )


def receives_unanswered_posts(user: User) -> bool:
    """Audience of `post_answer_overdue` (registered in community.apps): street officers."""
    return profile(user).has_role(Role.Kind.STREET_OFFICER)


def _queue_payload(post: Post) -> dict:
    # Ids, section and times only: the title and body stay behind the access check of GET /posts/{id}.
    return {
        "post_id": post.pk,
        "neighborhood_id": post.region_id,
        "section": post.section,
        "created_at": post.created_at.isoformat(),
        "answer_due_at": post.answer_due_at.isoformat() if post.answer_due_at else None,
    }


def do_escalate_unanswered_posts(*, now: dt.datetime | None = None) -> int:
    """Tell the street's officers, once per post, about each post past its answer deadline.

    Safe to run from several workers at once: the conditional UPDATE on answer_escalated_at
    decides which run escalates a post, and only that run notifies and publishes.
    """
    now = now or timezone.now()
    candidates = list(
        Post.objects.filter(overdue_unanswered(now), answer_escalated_at__isnull=True)
        .order_by("answer_due_at", "id")
        .values_list("pk", flat=True)[:ESCALATION_BATCH]
    )
    escalated = 0
    for post_id in candidates:
        with transaction.atomic():
            # Re-check the condition in the UPDATE: an answer or a hide since the read wins.
            won = Post.objects.filter(overdue_unanswered(now), pk=post_id, answer_escalated_at__isnull=True).update(
                answer_escalated_at=now
            )
            if not won:
                continue
            post = Post.objects.select_related("region").get(pk=post_id)
            street_id = post.region.parent_id
            hours = int((now - post.created_at).total_seconds() // 3600)
            if street_id is not None:
                do_notify(
                    recipients=RoleHolders(street_id, Role.Kind.STREET_OFFICER),
                    kind="post_answer_overdue",
                    title=f"居民帖子超时未回应：{post.region.name}",
                    body=f"{post.region.name}有一条居民帖子已{hours}小时未获官方回复",
                    page=f"pages/post/detail?id={post.pk}",
                    data={
                        "post_id": post.pk, "post_title": post.title, "neighborhood_name": post.region.name,
                        "overdue_label": "回应超时", "due_at": post.answer_due_at,
                    },
                    event_key=f"post:{post.pk}:answer_overdue",
                )
                publish_on_commit(f"staff.street.{street_id}", "post.answer_overdue", _queue_payload(post))
            publish_on_commit(f"staff.neighborhood.{post.region_id}", "post.answer_overdue", _queue_payload(post))
            escalated += 1
    if escalated:
        logger.info("escalated %d unanswered posts", escalated)
    return escalated
