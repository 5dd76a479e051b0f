"""Background work: the deadline sweep, a periodic job of `manage.py run_scheduler` (core.scheduler,
registered in services.apps). The late content check of notes and rating comments is moderation's
shared sweep (moderation/recheck.py; services.apps registers what it re-checks)."""

from __future__ import annotations

from django.tasks import task

from services.actions.deadlines import do_flag_overdue_requests


@task()
def flag_overdue_requests() -> int:
    return do_flag_overdue_requests()
