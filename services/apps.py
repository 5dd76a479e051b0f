from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "为老服务"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        # The sweep that catches notes/comments whose on-commit re-check was lost or failed again.
        register_periodic("services.tasks.recheck_pending_text", 60)
