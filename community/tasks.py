"""Background work of the feed (run by `manage.py db_worker`). The late content check of posts
and comments is moderation's shared sweep (moderation/recheck.py, registered in community.apps)."""

from __future__ import annotations

from django.tasks import task

from community.answers import do_escalate_unanswered_posts


@task()
def escalate_unanswered_posts() -> int:
    """发帖必响应: tell the street about posts past their answer deadline (every minute, community.apps)."""
    return do_escalate_unanswered_posts()
