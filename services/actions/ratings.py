"""The requester's rating, and its bookkeeping in the satisfaction aggregate."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.errors import Conflict, Forbidden, NotFound
from residents.models import User
from services.access import is_family_of
from services.actions.case_mirror import follow_request, record_rating
from services.actions.common import (
    Status,
    announce_status,
    check_resident_text,
    lock_request,
    record_event,
    schedule_text_recheck,
    state_changed,
)
from services.actions.follow_up import open_follow_up
from services.models import SatisfactionDaily, ServiceRating, ServiceRequest, ServiceRequestEvent, TextStatus


def check_rate_service_request(request_id: int, *, actor: User, comment: str) -> str:
    """Before any transaction: the cheap refusals, then msgSecCheck of the comment (risky → 400
    and no rating). Returns the comment's TextStatus."""
    seen = ServiceRequest.objects.select_related("beneficiary").filter(pk=request_id).first()
    if seen is None:
        raise NotFound("service_request_not_found", "服务工单不存在")
    # Cheap refusals before the network call: do not ask WeChat about a rating that cannot land.
    if not is_family_of(actor, seen):
        raise Forbidden("transition_not_allowed", "只有申请人可以评价")
    _check_ratable(seen)
    return check_resident_text(actor, comment)


def do_rate_service_request(request_id: int, *, actor: User, score: int, comment: str = "") -> ServiceRating:
    """The requester's word closes a completed request for good. The checks
    (check_rate_service_request) run first and are repeated under the lock."""
    comment_status = check_rate_service_request(request_id, actor=actor, comment=comment)
    with transaction.atomic():
        req = lock_request(request_id)
        if not is_family_of(actor, req):
            raise Forbidden("transition_not_allowed", "只有申请人可以评价")
        _check_ratable(req)
        try:
            with transaction.atomic():
                rating = ServiceRating.objects.create(
                    request=req, rater=actor, score=score, comment=comment, comment_status=comment_status
                )
        except IntegrityError:  # the one-per-request constraint, if the row lock was not enough
            raise state_changed(req) from None
        _count_in_satisfaction(req, rating)
        from_status = req.status
        req.status = Status.RATED
        req.save(update_fields=["status", "updated_at"])
        event = record_event(
            req, actor=actor, from_status=from_status, kind=ServiceRequestEvent.Kind.RATED, note=comment[:500],
            data={"score": score},
        )
        # The case is confirmed and carries the score (the engine's rating); the comment, maybe
        # not through the content check yet, stays on the request.
        follow_request(req, actor=actor, from_status=from_status, rating=score, rated_at=rating.created_at)
        record_rating(req, actor=actor, score=score)
        announce_status(req, event)
        if score <= ServiceRating.LOW_UP_TO:
            open_follow_up(req, actor=actor, score=score)
        if comment_status == TextStatus.PENDING_CHECK:
            schedule_text_recheck()
    return rating


def _check_ratable(req: ServiceRequest) -> None:
    if req.status == Status.RATED:
        raise Conflict("already_rated", "您已评价过这次服务；如服务没有完成，可以在7天内重新打开", current=req.status)
    if req.status != Status.COMPLETED:
        raise state_changed(req)


def withdraw_rating(req: ServiceRequest) -> None:
    """Reopening a rated request withdraws its rating from the satisfaction figures (the
    timeline keeps the rated event and its score); the next completion is rated afresh.
    Call holding the request's row lock: its provider has not changed since the rating."""
    rating = ServiceRating.objects.filter(request=req).first()
    if rating is None:
        return
    key, satisfied = _satisfaction_key(req, rating)
    SatisfactionDaily.objects.filter(**key).update(
        ratings=F("ratings") - 1, satisfied=F("satisfied") - satisfied, score_sum=F("score_sum") - rating.score
    )
    rating.delete()


def _satisfaction_key(req: ServiceRequest, rating: ServiceRating) -> tuple[dict[str, Any], int]:
    """The aggregate row a rating counts in, and whether it counts as satisfied (1 or 0)."""
    key = {
        "date": timezone.localdate(rating.created_at),
        "item_id": req.item_id,
        "provider_key": req.assigned_org_id or 0,
        "neighborhood_id": req.neighborhood_id,
    }
    return key, 1 if rating.score >= ServiceRating.SATISFIED_FROM else 0


def _count_in_satisfaction(req: ServiceRequest, rating: ServiceRating) -> None:
    """Add one rating to its day's aggregate row, in the rating's transaction (a rolled-back
    rating never counts). Call while holding the request's row lock."""
    key, satisfied = _satisfaction_key(req, rating)
    # F() increments: two ratings of the same key committing at once both count.
    increments = {"ratings": F("ratings") + 1, "satisfied": F("satisfied") + satisfied, "score_sum": F("score_sum") + rating.score}
    if SatisfactionDaily.objects.filter(**key).update(**increments):
        return
    try:
        # A savepoint: losing the race to insert the day's first row must not spoil the rating.
        with transaction.atomic():
            SatisfactionDaily.objects.create(
                **key, provider_id=req.assigned_org_id, street_id=req.street_id, ratings=1, satisfied=satisfied,
                score_sum=rating.score,
            )
    except IntegrityError:
        # The other transaction committed the row (PostgreSQL made us wait on the unique index): add to it.
        SatisfactionDaily.objects.filter(**key).update(**increments)


def do_rebuild_satisfaction_daily() -> int:
    """Recompute the whole aggregate from the ratings (after a manual data fix, or to reconcile).
    Returns the number of rows written. Blocks ratings only for the length of one transaction."""
    with transaction.atomic():
        SatisfactionDaily.objects.all().delete()
        groups = (
            ServiceRating.objects.annotate(day=TruncDate("created_at"))
            .values("day", "request__item_id", "request__assigned_org_id", "request__neighborhood_id", "request__street_id")
            .annotate(
                n=Count("id"),
                happy=Count("id", filter=Q(score__gte=ServiceRating.SATISFIED_FROM)),
                total=Sum("score"),
            )
            .order_by()
        )
        rows = [
            SatisfactionDaily(
                date=g["day"], item_id=g["request__item_id"], provider_id=g["request__assigned_org_id"],
                provider_key=g["request__assigned_org_id"] or 0, neighborhood_id=g["request__neighborhood_id"],
                street_id=g["request__street_id"], ratings=g["n"], satisfied=g["happy"], score_sum=g["total"],
            )
            for g in groups
        ]
        SatisfactionDaily.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
