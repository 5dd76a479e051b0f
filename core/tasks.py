from django.tasks import task

from core.retention import purge_expired


@task()
def purge_expired_sensitive_data() -> dict[str, int]:
    """Daily: clear health notes and addresses kept past SENSITIVE_RETENTION_DAYS."""
    return purge_expired()
