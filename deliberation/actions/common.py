"""Helpers every 议事 write shares: the topic's row lock, the content log, what the
neighborhood and the topic's audience hear, and who may make a move."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, Forbidden, NotFound
from deliberation.access import is_topic_staff
from deliberation.models import Ballot, ContentStatus, Follow, Reply, Support, Topic, TopicContentLog, TopicImage
from moderation.content import schedule_recheck
from notifications.actions import do_notify
from notifications.realtime import publish_on_commit
from residents.models import User

S = Topic.Status


C = ContentStatus


def lock_topic(topic_id: int) -> Topic:
    try:
        # of=self: lock only the topic (and PostgreSQL refuses FOR UPDATE on the outer-joined group).
        return (
            Topic.objects.select_for_update(of=("self",))
            .select_related("neighborhood", "building_group")
            .get(pk=topic_id)
        )
    except Topic.DoesNotExist:
        raise NotFound("topic_not_found", "议题不存在") from None


def state_changed(topic: Topic) -> Conflict:
    return Conflict("topic_state_changed", "议题状态已变化，请刷新后重试", current=topic.status)


def require_public(topic: Topic) -> None:
    """Residents take part only in a topic whose text passed the content check (or staff approved)."""
    if not topic.is_public:
        raise Conflict("topic_not_published", "议题内容尚在审核中", content_status=topic.content_status)


def schedule_recheck_content() -> None:
    from moderation.tasks import recheck_pending_content

    schedule_recheck(recheck_pending_content, delay_setting="DELIBERATION_RECHECK_DELAY_SECONDS")


def snapshot_topic(topic: Topic) -> dict[str, Any]:
    return {
        "title": topic.title,
        "body": topic.body,
        "content_status": topic.content_status,
        "status": topic.status,
        "image_ids": list(TopicImage.objects.filter(topic=topic).values_list("image_id", flat=True)),
    }


def snapshot_reply(reply: Reply) -> dict[str, Any]:
    return {"body": reply.body, "content_status": reply.content_status, "author_id": reply.author_id}


def log_content(
    topic: Topic, *, actor: User | None, action: str, reason: str = "", reply: Reply | None = None, snapshot: dict
) -> TopicContentLog:
    return TopicContentLog.objects.create(
        topic=topic, reply=reply, actor=actor, action=action, reason=reason[:200], snapshot=snapshot
    )


def publish_topic(topic: Topic, type_: str, payload: dict[str, Any]) -> None:
    """Neighborhood stream carries ids only for building-group topics: clients fetch over HTTP,
    where access rules apply, so people outside the group learn nothing from the socket."""
    body = {"topic_id": topic.pk, "status": topic.status, "building_group_id": topic.building_group_id, **payload}
    if topic.building_group_id is None:
        body["title"] = topic.title
    publish_on_commit(f"neighborhood.{topic.neighborhood_id}", type_, body)
    publish_on_commit(f"topic.{topic.pk}", type_, body)


def audience(topic: Topic) -> set[int]:
    """Supporters, voters and followers of a topic: who hears about its progress."""
    ids = set(Follow.objects.filter(topic=topic).values_list("user_id", flat=True))
    ids |= set(Support.objects.filter(topic=topic).values_list("user_id", flat=True))
    ids |= set(Ballot.objects.filter(topic=topic).values_list("user_id", flat=True))
    return ids


def notify_audience(topic: Topic, *, title: str, body: str, event_key: str, exclude: User | None = None) -> None:
    recipients = audience(topic) - ({exclude.pk} if exclude is not None else set())
    if recipients:
        do_notify(
            recipients=recipients,
            kind="topic_update",
            title=title,
            body=body,
            page=f"pages/topics/detail?id={topic.pk}",
            # Only the topic's audience gets it, so the title may travel (unlike on the neighborhood stream).
            data={
                "topic_id": topic.pk, "status": topic.status, "topic_title": topic.title,
                "stage_label": Topic.Status(topic.status).label,
            },
            event_key=event_key,
        )


def check_actor(topic: Topic, actor: User, to: str) -> None:
    if Topic.actor_kind_for(to) == "author":
        if topic.author_id != actor.pk:
            raise Forbidden("author_only", "只有提议人可以撤回议题")
    elif not is_topic_staff(actor, topic):
        raise Forbidden("staff_only", "仅限本居委工作人员操作")
