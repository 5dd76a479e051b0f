"""Background work of the infrastructure (run by `manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from core import idempotency


@task()
def purge_idempotency_records() -> int:
    """Hourly: delete Idempotency-Key records past their 24-hour replay window."""
    return idempotency.purge_expired_records()
