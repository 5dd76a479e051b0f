from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "为老服务"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        # The sweep that catches notes/comments whose on-commit re-check was lost or failed again.
        register_periodic("services.tasks.recheck_pending_text", 60)
        register_periodic("services.tasks.flag_overdue_requests", 60)

        from services.models import ProviderOrganization, ServiceCategory, ServiceItem
        from services.queries import CATALOG

        # The one-tap create reads catalog items through a per-process memo (services.queries.catalog_item).
        CATALOG.cleared_by(ServiceItem, ServiceCategory, ProviderOrganization)

        from notifications import kinds
        from services import access

        # Staff and provider kinds: the mini-program asks only these people to consent to them.
        kinds.register_audience("service_request_new", access.receives_new_requests)
        kinds.register_audience("service_request_overdue", access.receives_overdue_requests)
        kinds.register_audience("service_request_assigned", access.receives_assignments)
