from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "内容审核"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        # One sweep for all text saved while WeChat was unreachable; the apps register what
        # they hold in their own ready() (moderation.recheck.register).
        register_periodic("moderation.tasks.recheck_pending_content", 60)
