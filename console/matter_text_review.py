"""Staff review of matter text held for a person (`pending_review`): a partner system's filing
(Open311: WeChat cannot check text without a resident's openid), WeChat's "review" verdict on a
resident's report, or the re-check sweep's late one (docs/matters.md). Approving publishes the
text to the neighborhood (and to partners reading it); rejecting keeps it from them for good
(`removed`, with a reason). Either way the case goes on: the unit has worked it from the start,
and the reporter always sees their own matter.

Here, not in `matters`: the screen and its log (`console.models.MatterTextReview`) are the
console's, and the matter row holds nothing but the verdict, which moves along moderation's one
transition table (`moderation.models.CONTENT_TRANSITIONS`), as the re-check sweep's
conditional update does."""

from __future__ import annotations

from django.db import transaction

from console.models import MatterTextReview
from core.errors import Conflict, InvalidInput, NotFound
from matters.models import Matter
from moderation.models import CONTENT_TRANSITIONS
from residents.access import is_staff_for
from residents.models import User

MAX_REASON = 200


def check_review_matter_text(*, approve: bool, reason: str) -> str:
    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidInput("reason_required", "请填写不予公开的原因", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason_too_long", f"原因最多 {MAX_REASON} 字", field="reason")
    return reason


def do_review_matter_text(matter_id: int, *, actor: User, approve: bool, reason: str = "") -> Matter:
    """Staff of the matter's neighborhood (committee staff, its street's officers, the district)
    decide. Only text still waiting can be decided: 409 `text_review_state_changed` when a
    colleague was first. Outside the actor's neighborhoods: 404, like a missing matter."""
    reason = check_review_matter_text(approve=approve, reason=reason)
    target = Matter.TextStatus.PUBLISHED if approve else Matter.TextStatus.REMOVED
    with transaction.atomic():
        matter = Matter.objects.select_for_update().filter(pk=matter_id).first()
        if matter is None or not is_staff_for(actor, matter.neighborhood_id):
            raise NotFound("matter_not_found", "诉求不存在")
        if matter.text_status != Matter.TextStatus.PENDING_REVIEW or target not in CONTENT_TRANSITIONS[matter.text_status]:
            raise Conflict("text_review_state_changed", "该诉求内容已处理，请刷新后重试", current=matter.text_status)
        matter.text_status = target
        matter.save(update_fields=["text_status"])
        MatterTextReview.objects.create(
            matter=matter, neighborhood_id=matter.neighborhood_id, actor=actor,
            decision=MatterTextReview.Decision.APPROVED if approve else MatterTextReview.Decision.REJECTED,
            reason=reason,
        )
    return matter
