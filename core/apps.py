from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础设施"

    def ready(self) -> None:
        import core.schema  # noqa: F401  (registers the OpenAPI auth extension)
        from core.images import on_wechat_push
        from wechat.signals import push_received

        # Image verdicts belong to the shared image pipeline, whichever app attached the image.
        push_received.connect(on_wechat_push, dispatch_uid="core.images.media_check")

        from core.scheduler import register_periodic

        register_periodic("core.tasks.check_pending_images", 60)
        # Replay records expire after 24 hours (core.idempotency); the purge deletes them.
        register_periodic("core.tasks.purge_idempotency_records", 3600)
