"""PIPL steps for core's Idempotency-Key records (core/idempotency.py).

Stored responses of creates can hold the person's phone, address or health note. core
imports no app, so its records are registered here (PrivacyConfig.ready).
"""

from __future__ import annotations

from core.models import IdempotencyRecord
from privacy.pipl import model_rows


def export_user_records(user) -> dict:
    """PIPL export: the creates of the last 24 hours whose answers are kept for replay."""
    return {"idempotency_records": model_rows(IdempotencyRecord.objects.filter(user=user), exclude=("fingerprint",))}


def erase_user_records(user) -> None:
    """PIPL erasure: the person's stored responses go with their account (privacy.pipl eraser)."""
    IdempotencyRecord.objects.filter(user=user).delete()
