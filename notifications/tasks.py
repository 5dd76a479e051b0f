"""Background delivery through Django's tasks API (django-tasks-db in dev/prod; immediate in tests)."""

from __future__ import annotations

from django.tasks import task

from notifications import delivery


@task(queue_name="wechat")
def deliver_outbox_messages(outbox_ids: list[int]) -> dict:
    """Send these outbox rows if they are still due. Safe to run twice or on several workers:
    a row is sent by whoever claims it, and only while it is due."""
    report = delivery.deliver_ids(outbox_ids)
    return {"claimed": report.claimed, "outcomes": report.outcomes}


@task(queue_name="wechat")
def deliver_due_outbox() -> dict:
    report = delivery.deliver_due()
    return {"claimed": report.claimed, "outcomes": report.outcomes}
