from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "deliberation"
    verbose_name = "议事厅"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("deliberation.tasks.close_due_votes", 60)
        register_periodic("deliberation.tasks.recheck_pending_content", 60)

        from deliberation.access import can_read_topic_stream
        from notifications import streams

        # actions publish a topic's moves, replies and milestones on `topic.<id>`.
        streams.register("topic", can_read_topic_stream)
