"""The engine's periodic jobs (registered in cases.apps with core.scheduler)."""

from __future__ import annotations

from django.tasks import task

from cases.actions import do_close_unconfirmed_cases, do_escalate_overdue_cases


@task()
def escalate_overdue_cases() -> int:
    return do_escalate_overdue_cases()


@task()
def close_unconfirmed_cases() -> int:
    return do_close_unconfirmed_cases()
