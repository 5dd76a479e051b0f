"""Staff review of held notes and rating comments, and the late content check of text saved while
WeChat was unreachable."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, Forbidden, InvalidInput
from moderation import recheck
from notifications.realtime import publish_on_commit
from residents.access import is_staff_for
from residents.models import User
from services.actions.common import board_payload, lock_request, record_event
from services.models import ServiceRating, ServiceRequest, ServiceRequestEvent, TextStatus

REVIEWABLE_TEXT = ("note", "rating_comment")


TEXT_LABELS = {"note": "备注", "rating_comment": "评价内容"}


def do_review_service_text(request_id: int, *, actor: User, field: str, decision: str) -> ServiceRequest:
    """Staff of the region decide on a held note or rating comment: approve shows it to the
    provider too; remove keeps it from them for good. Only text still waiting can be decided
    (409 text_review_state_changed otherwise, e.g. a colleague or the late check was first)."""
    if field not in REVIEWABLE_TEXT:
        raise InvalidInput("invalid_input", "审核对象有误", field="field")
    if decision not in ("approve", "remove"):
        raise InvalidInput("invalid_input", "审核结论有误", field="decision")
    new_status = TextStatus.PUBLISHED if decision == "approve" else TextStatus.REMOVED
    with transaction.atomic():
        req = lock_request(request_id)
        if not is_staff_for(actor, req.neighborhood_id):
            raise Forbidden("staff_only", "仅限居委或街道工作人员")
        if field == "note":
            target: ServiceRequest | ServiceRating | None = req
            status_field = "note_status"
        else:
            target = ServiceRating.objects.select_for_update().filter(request=req).first()
            status_field = "comment_status"
        current = getattr(target, status_field) if target is not None else None
        if current not in TextStatus.waiting():
            raise Conflict("text_review_state_changed", "该内容已处理，请刷新后重试", current=current)
        setattr(target, status_field, new_status)
        target.save(update_fields=[status_field])
        if field == "note":
            ServiceRequest.objects.filter(pk=req.pk).update(updated_at=timezone.now())
        verb = "审核通过" if decision == "approve" else "已隐藏"
        record_event(
            req, actor=actor, from_status=req.status, kind=ServiceRequestEvent.Kind.TEXT_REVIEWED,
            note=f"{TEXT_LABELS[field]}{verb}", data={"field": field, "decision": decision},
        )
        publish_on_commit(f"staff.neighborhood.{req.neighborhood_id}", "service_request.updated", board_payload(req))
    return req


def do_recheck_pending_text(*, limit: int = 100) -> dict[str, int]:
    """Ask WeChat again about notes and comments saved while it was unreachable.

    pass → published, review → pending_review, risky → removed (the request and the rating
    stay: only the text is hidden). moderation's shared sweep, limited to services' kinds: its
    UPDATE is conditional, so a staff decision made meanwhile, or a second sweep running at
    once, is never overwritten."""
    return recheck.recheck_pending(names=("services.note", "services.rating_comment"), limit=limit)
