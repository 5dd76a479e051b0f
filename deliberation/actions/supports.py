"""附议 and following a topic."""

from __future__ import annotations

from django.db import transaction

from core.errors import Conflict
from deliberation.access import require_verified_home
from deliberation.actions.common import lock_topic, publish_topic, require_public
from deliberation.actions.moves import maybe_open_discussion, support_households
from deliberation.models import Follow, Support, Topic
from residents.models import User


def do_add_support(*, topic_id: int, actor: User) -> tuple[Topic, bool]:
    """附议. Idempotent: a second support by the same person changes nothing."""
    with transaction.atomic():
        topic = lock_topic(topic_id)
        home = require_verified_home(actor, topic)
        if topic.status not in Topic.SUPPORTABLE:
            raise Conflict("supports_closed", "议题已不再接受附议", current=topic.status)
        require_public(topic)
        _, created = Support.objects.get_or_create(
            topic=topic, user=actor, defaults={"household_key": home.voter_household}
        )
        Follow.objects.get_or_create(topic=topic, user=actor)
        if created:
            publish_topic(topic, "topic.supported", {"supports": support_households(topic)})
            maybe_open_discussion(topic)
    return topic, created


def do_remove_support(*, topic_id: int, actor: User) -> Topic:
    with transaction.atomic():
        topic = lock_topic(topic_id)
        require_verified_home(actor, topic)
        if topic.status not in Topic.SUPPORTABLE:
            raise Conflict("supports_closed", "议题已不再接受附议", current=topic.status)
        # A topic already in discussion stays there: the threshold opens, it never closes.
        Support.objects.filter(topic=topic, user=actor).delete()
    return topic


def do_follow_topic(*, topic: Topic, actor: User) -> bool:
    with transaction.atomic():
        _, created = Follow.objects.get_or_create(topic=topic, user=actor)
    return created


def do_unfollow_topic(*, topic: Topic, actor: User) -> None:
    Follow.objects.filter(topic=topic, user=actor).delete()
