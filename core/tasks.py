"""Background work of the infrastructure (run by `manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from core import idempotency
from core.retention import purge_expired


@task()
def purge_expired_sensitive_data() -> dict[str, int]:
    """Daily: clear health notes and addresses kept past SENSITIVE_RETENTION_DAYS."""
    return purge_expired()


@task()
def purge_idempotency_records() -> int:
    """Hourly: delete Idempotency-Key records past their 24-hour replay window."""
    return idempotency.purge_expired_records()
