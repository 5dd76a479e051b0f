"""Retention (PIPL: keep sensitive data no longer than needed).

Apps register purgers in their `pipl.py` (autodiscovered with the PIPL registry):

    from privacy.retention import register_purger

    def purge_closed_requests(cutoff) -> int:   # clear sensitive fields of things closed before cutoff
        return ServiceRequest.objects.filter(closed_at__lt=cutoff).exclude(address="").update(address="", health_notes="")

    register_purger("services.closed_requests", purge_closed_requests)

`purge_expired_sensitive_data` (command and Django task) runs them with
cutoff = now - SENSITIVE_RETENTION_DAYS. A purger must be idempotent and return a count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("stq.audit")

Purger = Callable[[datetime], int]
_purgers: dict[str, Purger] = {}


def register_purger(name: str, fn: Purger) -> None:
    _purgers[name] = fn


def purgers() -> dict[str, Purger]:
    return dict(_purgers)


def retention_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.SENSITIVE_RETENTION_DAYS)


def purge_expired(*, now: datetime | None = None) -> dict[str, int]:
    """Run every purger, each in its own transaction so one failure does not undo the others."""
    cutoff = retention_cutoff(now)
    results: dict[str, int] = {}
    for name, fn in _purgers.items():
        try:
            with transaction.atomic():
                results[name] = fn(cutoff)
        except Exception:
            logger.exception("retention purger %s failed", name)
            results[name] = -1
    logger.info("retention purge cutoff=%s results=%s", cutoff.isoformat(), results)
    return results
