"""Background work of moderation (run by `manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from moderation import recheck


@task(queue_name="wechat")
def recheck_pending_content() -> dict[str, int]:
    """Content-check every kind of text saved while WeChat was unreachable (moderation/recheck.py);
    every minute (moderation/apps.py), and enqueued shortly after such a save."""
    return recheck.recheck_pending()
