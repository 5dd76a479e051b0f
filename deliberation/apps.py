from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "deliberation"
    verbose_name = "议事厅"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("deliberation.tasks.close_due_votes", 60)

        from deliberation.access import can_read_topic_stream
        from notifications import streams

        # actions publish a topic's moves, replies and milestones on `topic.<id>`.
        streams.register("topic", can_read_topic_stream)

        from deliberation.actions.content_checks import apply_late_verdict
        from deliberation.models import Reply, Topic
        from moderation import recheck
        from moderation.content import SCENE_COMMENT, SCENE_FORUM

        # Topics and replies saved while WeChat was unreachable: moderation's sweep asks again.
        recheck.register("deliberation.topic", recheck.Recheckable(
            model=Topic, status_field="content_status", select_related=("author",), apply=apply_late_verdict,
            text=lambda topic: {"user": topic.author, "content": topic.body, "title": topic.title, "scene": SCENE_FORUM},
        ))
        recheck.register("deliberation.reply", recheck.Recheckable(
            model=Reply, status_field="content_status", select_related=("author",), apply=apply_late_verdict,
            text=lambda reply: {"user": reply.author, "content": reply.body, "scene": SCENE_COMMENT},
        ))
