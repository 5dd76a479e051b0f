"""Read models of the case engine."""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from cases.models import Case


def overdue_case_counts(now=None) -> list[tuple[tuple[str], int]]:
    """Cases whose current deadline has passed, per kind (index `case_due`): the /metrics gauge."""
    rows = Case.objects.filter(due_at__lt=now or timezone.now()).order_by().values("kind").annotate(n=Count("id"))
    return [((row["kind"],), row["n"]) for row in rows]
