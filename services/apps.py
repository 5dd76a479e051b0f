from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "为老服务"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        # The sweep that catches notes/comments whose on-commit re-check was lost or failed again.
        register_periodic("services.tasks.recheck_pending_text", 60)

        from django.db.models.signals import post_delete, post_save

        from services.models import ProviderOrganization, ServiceCategory, ServiceItem
        from services.queries import forget_catalog

        # The one-tap create reads catalog items through a per-process memo (services.queries.catalog_item).
        for model in (ServiceItem, ServiceCategory, ProviderOrganization):
            post_save.connect(forget_catalog, sender=model, dispatch_uid=f"services.catalog.save.{model.__name__}")
            post_delete.connect(forget_catalog, sender=model, dispatch_uid=f"services.catalog.delete.{model.__name__}")
