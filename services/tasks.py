"""Background work: the deadline sweep. Schedule `flag_overdue_requests` every few minutes
(cron → `manage.py flag_overdue_requests`, or enqueue it from any scheduler)."""

from __future__ import annotations

from django.tasks import task

from services.actions import do_flag_overdue_requests


@task()
def flag_overdue_requests() -> int:
    return do_flag_overdue_requests()
