from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "工作台"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        # Dashboard snapshots (console/snapshots.py): recent cohorts often, the last quarter nightly.
        register_periodic("console.tasks.refresh_dashboard_snapshots", 600)
        register_periodic("console.tasks.refresh_dashboard_snapshots_daily", cron="0 2 * * *")
