"""Background work of the feed (run by `manage.py db_worker`; schedule the sweeps every minute)."""

from __future__ import annotations

from django.tasks import task

from community import actions
from community.answers import do_escalate_unanswered_posts


@task(queue_name="wechat")
def recheck_pending_content() -> dict[str, int]:
    """Content-check posts and comments saved while WeChat was unreachable; never public before."""
    return actions.recheck_pending()


@task()
def escalate_unanswered_posts() -> int:
    """发帖必响应: tell the street about posts past their answer deadline (every minute, community.apps)."""
    return do_escalate_unanswered_posts()
