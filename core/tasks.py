"""Background work of the shared pipeline (run by `manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from core import idempotency, images


@task(queue_name="wechat")
def check_pending_images() -> int:
    """Retry mediaCheckAsync for images WeChat has not accepted yet (unreachable, or -1008)."""
    return images.check_pending_images()


@task()
def purge_idempotency_records() -> int:
    """Hourly: delete Idempotency-Key records past their 24-hour replay window."""
    return idempotency.purge_expired_records()
