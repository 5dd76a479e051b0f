from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础设施"

    def ready(self) -> None:
        import core.schema  # noqa: F401  (registers the OpenAPI auth extension)
        from core.scheduler import register_periodic

        # Replay records expire after 24 hours (core.idempotency); the purge deletes them.
        register_periodic("core.tasks.purge_idempotency_records", 3600)
