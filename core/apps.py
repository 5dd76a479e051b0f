from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础设施"

    def ready(self) -> None:
        import core.lookups  # noqa: F401  (registers `__any`)
        import core.schema  # noqa: F401  (registers the OpenAPI auth extension)
        from core.scheduler import register_periodic

        # Replay records expire after 24 hours (core.idempotency); the purge deletes them.
        register_periodic("core.tasks.purge_idempotency_records", 3600)

        from core import gauges, health

        # /readyz: the parts core owns (the apps add theirs); /metrics: the queue and the scheduler.
        health.register_core_checks()
        gauges.register_core_gauges()
