"""Logging a full view of a request's personal fields."""

from __future__ import annotations

from residents.models import User
from services.models import ServiceRequest


def do_log_sensitive_view(*, actor: User, request: ServiceRequest, screen: str) -> None:
    """Record that the actor (staff or a provider) saw this request's address / health notes in full."""
    from residents.models import SensitiveAccessLog

    subject_user_id = request.beneficiary.owner_id if request.beneficiary_id else request.requester_id
    SensitiveAccessLog.objects.bulk_create(
        SensitiveAccessLog(
            viewer=actor, subject_user_id=subject_user_id, subject_label=f"service_request:{request.pk}",
            field=field, screen=screen[:100],
        )
        for field, value in (("address", request.address), ("health_note", request.health_note))
        if value
    )
