"""Residents' evaluation of an implemented topic."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from core.errors import Conflict
from deliberation.access import require_verified_home
from deliberation.actions.common import S, lock_topic
from deliberation.models import Evaluation, Topic
from residents.models import User


def do_add_evaluation(*, topic_id: int, actor: User, rating: int, comment: str = "") -> Evaluation:
    with transaction.atomic():
        topic = lock_topic(topic_id)
        require_verified_home(actor, topic)
        if topic.status != S.EVALUATING:
            raise Conflict("evaluation_closed", "议题不在效果评估阶段", current=topic.status)
        if topic.evaluation_closes_at and timezone.now() >= topic.evaluation_closes_at:
            raise Conflict("evaluation_closed", "效果评估已截止", current=topic.status)
        try:
            with transaction.atomic():
                evaluation = Evaluation.objects.create(topic=topic, user=actor, rating=rating, comment=comment)
        except IntegrityError:
            raise Conflict("already_evaluated", "您已经评价过") from None
    return evaluation


def evaluation_summary(topic: Topic) -> dict[str, Any]:
    agg = Evaluation.objects.filter(topic=topic).aggregate(
        count=Count("id"), average=Avg("rating"), **{f"r{i}": Count("id", filter=Q(rating=i)) for i in range(1, 6)}
    )
    average = agg["average"]
    return {
        "count": agg["count"],
        "average": str(Decimal(str(average)).quantize(Decimal("0.01"))) if average is not None else None,
        "distribution": {str(i): agg[f"r{i}"] for i in range(1, 6)},
    }
