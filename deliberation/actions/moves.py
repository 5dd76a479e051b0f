"""Recording a stage move the caller has checked (the topic row locked), and the move the
support threshold makes by itself."""

from __future__ import annotations

from django.utils import timezone

from deliberation import rules
from deliberation.actions.common import S, notify_audience, publish_topic
from deliberation.models import Support, Topic, TopicEvent
from residents.models import User


def move_topic(topic: Topic, to: str, *, actor: User | None, note: str = "") -> TopicEvent:
    """Record a move the caller has already checked against the table (topic row locked)."""
    from_status = topic.status
    topic.status = to
    topic.status_changed_at = timezone.now()
    topic.save(
        update_fields=[
            "status",
            "status_changed_at",
            "outcome",
            "summary",
            "merged_into",
            "evaluation_closes_at",
            "evaluation_summary",
        ]
    )
    event = TopicEvent.objects.create(topic=topic, actor=actor, from_status=from_status, to_status=to, note=note[:500])
    publish_topic(topic, "topic.status_changed", {"from": from_status, "to": to, "event_id": event.pk})
    notify_audience(
        topic,
        title=f"议题「{topic.title[:40]}」{Topic.Status(to).label}",
        body=note[:200] or f"议题进入「{Topic.Status(to).label}」阶段",
        event_key=f"topic:{topic.pk}:event:{event.pk}",
        exclude=actor,
    )
    return event


def support_households(topic: Topic) -> int:
    return Support.objects.filter(topic=topic).values("household_key").distinct().count()


def maybe_open_discussion(topic: Topic) -> None:
    """Caller holds the topic lock: the count and the move see the same supports."""
    if topic.status != S.PROPOSED or not topic.is_public:
        return
    threshold = rules.support_threshold(topic)
    households = support_households(topic)
    if households >= threshold:
        move_topic(topic, S.DISCUSSING, actor=None, note=f"附议达到 {households} 户（门槛 {threshold} 户），自动进入讨论")
