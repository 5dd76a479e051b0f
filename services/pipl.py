"""PIPL export, erasure and retention for service requests and plans (privacy/pipl.py, privacy/retention.py).

Written by the trust engineer; services owns the models, this file only reads and scrubs them.

A request is "theirs" when they filed it or when it was filed for an elder they registered
(the committee may file on a family's behalf). The export gives addresses and health notes
in full: the owner gave them to us. Erasure keeps the rows (the committee's statistics and
the provider's timeline need them) but clears every free-text and sensitive field, and
cancels what is still open: nobody should turn up at an address we no longer hold.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from privacy.pipl import model_rows, register_eraser, register_exporter
from privacy.retention import register_purger
from services.models import ServicePlan, ServiceRating, ServiceRequest, ServiceRequestEvent

CLOSED_STATUSES = (
    ServiceRequest.Status.COMPLETED,
    ServiceRequest.Status.RATED,
    ServiceRequest.Status.CANCELLED,
    ServiceRequest.Status.REJECTED,
)
ERASED_NOTE = "申请人已注销账号，工单自动取消"


def _requests_of(user):
    return ServiceRequest.objects.filter(Q(requester=user) | Q(beneficiary__owner=user))


def _plans_of(user):
    return ServicePlan.objects.filter(Q(requester=user) | Q(beneficiary__owner=user))


def export(user) -> dict:
    requests = _requests_of(user)
    return {
        "service_requests": model_rows(requests),
        "service_request_events": model_rows(ServiceRequestEvent.objects.filter(request__in=requests.values("pk"))),
        "service_ratings": model_rows(ServiceRating.objects.filter(request__in=requests.values("pk"))),
        "service_plans": model_rows(_plans_of(user)),
    }


def erase(user) -> None:
    for plan in _plans_of(user).select_for_update(of=("self",)):
        if plan.status != ServicePlan.Status.CANCELLED:
            plan.status = ServicePlan.Status.CANCELLED
        plan.extra = {}
        plan.save(update_fields=["status", "extra", "updated_at"])
    for req in _requests_of(user).select_for_update(of=("self",)):
        if req.is_open:
            before = req.status
            req.status = ServiceRequest.Status.CANCELLED
            ServiceRequestEvent.objects.create(
                request=req, actor=None, from_status=before, to_status=req.status, note=ERASED_NOTE,
            )
        req.address = ""
        req.health_note = ""
        req.note = ""
        req.beneficiary_name = ""
        req.extra = {}
        req.save(update_fields=["status", "address", "health_note", "note", "beneficiary_name", "extra", "updated_at"])
    # The score stays in the satisfaction figures; the words were theirs.
    ServiceRating.objects.filter(rater=user).update(comment="")


def purge_closed_requests(cutoff: datetime) -> int:
    """Clear the address, health note and who-it-was-for of requests closed before `cutoff`.

    "Closed" is the last time the row changed while in a closed status (updated_at): a
    completed request that is later rated starts its retention again from the rating.
    Encrypted fields cannot be filtered on, so the loop checks values in Python; rows
    already purged cost one read and no write, so re-running is cheap and idempotent.
    """
    changed = 0
    stale = ServiceRequest.objects.filter(status__in=CLOSED_STATUSES, updated_at__lt=cutoff)
    for req in stale.select_for_update(of=("self",)).only("pk", "address", "health_note", "beneficiary_name"):
        if not (req.address or req.health_note or req.beneficiary_name):
            continue
        # .update() keeps updated_at (auto_now) as it was: the purge is not a change of the request.
        ServiceRequest.objects.filter(pk=req.pk).update(address="", health_note="", beneficiary_name="")
        changed += 1
    return changed


register_exporter("services", export)
register_eraser("services", erase)
register_purger("services.closed_requests", purge_closed_requests)
