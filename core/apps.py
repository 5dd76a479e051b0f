from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础设施"

    def ready(self) -> None:
        import core.schema  # noqa: F401  (registers the OpenAPI auth extension)
        from core import pipl
        from core.idempotency import erase_user_records, export_user_records
        from core.images import on_wechat_push
        from wechat.signals import push_received

        # Image verdicts belong to the shared image pipeline, whichever app attached the image.
        push_received.connect(on_wechat_push, dispatch_uid="core.images.media_check")
        # Each app's pipl.py registers its export, erase and retention steps (core/pipl.py).
        pipl.autodiscover()
        # Stored responses of creates can hold the person's phone, address, health note.
        pipl.register_exporter("idempotency", export_user_records)
        pipl.register_eraser("idempotency", erase_user_records)
