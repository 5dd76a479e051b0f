from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "deliberation"
    verbose_name = "议事厅"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("deliberation.tasks.close_due_votes", 60)
        register_periodic("deliberation.tasks.recheck_pending_content", 60)
