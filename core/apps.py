from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础设施"

    def ready(self) -> None:
        import core.schema  # noqa: F401  (registers the OpenAPI auth extension)
        from core import pipl
        from core.idempotency import erase_user_records, export_user_records

        # Each app's pipl.py registers its export, erase and retention steps (core/pipl.py).
        pipl.autodiscover()
        # Stored responses of creates can hold the person's phone, address, health note.
        pipl.register_exporter("idempotency", export_user_records)
        pipl.register_eraser("idempotency", erase_user_records)

        from core.scheduler import register_periodic

        # At night, when no one is working (Asia/Shanghai).
        register_periodic("core.tasks.purge_expired_sensitive_data", cron="0 3 * * *")
        # Replay records expire after 24 hours (core.idempotency); the purge deletes them.
        register_periodic("core.tasks.purge_idempotency_records", 3600)
