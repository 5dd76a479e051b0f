"""Background work of the PIPL app (run by `manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from privacy.retention import purge_expired


@task()
def purge_expired_sensitive_data() -> dict[str, int]:
    """Daily: clear health notes and addresses kept past SENSITIVE_RETENTION_DAYS."""
    return purge_expired()
