"""Background work of the image pipeline (run by `manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from images import pipeline


@task(queue_name="wechat")
def check_pending_images() -> int:
    """Retry mediaCheckAsync for images WeChat has not accepted yet (unreachable, or -1008)."""
    return pipeline.check_pending_images()
