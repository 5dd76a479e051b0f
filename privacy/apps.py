from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "个人信息保护"

    def ready(self) -> None:
        from privacy import pipl
        from privacy.idempotency import erase_user_records, export_user_records

        # Each app's pipl.py registers its export, erase and retention steps (privacy/pipl.py).
        pipl.autodiscover()
        # core's stored responses of creates: core imports no app, so they are registered here.
        pipl.register_exporter("idempotency", export_user_records)
        pipl.register_eraser("idempotency", erase_user_records)

        from core.scheduler import register_periodic

        # At night, when no one is working (Asia/Shanghai).
        register_periodic("privacy.tasks.purge_expired_sensitive_data", cron="0 3 * * *")
