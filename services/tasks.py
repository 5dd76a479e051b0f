"""Background work: the deadline sweep and the late content check. Both are periodic jobs of
`manage.py run_scheduler` (core.scheduler; the re-check registers itself in services.apps)."""

from __future__ import annotations

from django.tasks import task

from services.actions.deadlines import do_flag_overdue_requests
from services.actions.text_review import do_recheck_pending_text


@task()
def flag_overdue_requests() -> int:
    return do_flag_overdue_requests()


@task()
def recheck_pending_text() -> dict[str, int]:
    """Notes and rating comments saved while WeChat was unreachable (scheduled every minute
    by services.apps; also enqueued shortly after such a save)."""
    return do_recheck_pending_text()
