from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "为老服务"

    def ready(self) -> None:
        from cases import kinds as case_kinds
        from services.actions.case_mirror import KIND
        from services.actions.common import request_page
        from services.actions.deadlines import tell_request_overdue
        from services.models import ServiceRequest as Request

        def label(case) -> str:
            name = Request.objects.filter(case=case).values_list("item__name", flat=True).first()
            return f"服务申请：{name}" if name else "服务申请"

        def page(case) -> str:
            request_id = Request.objects.filter(case=case).values_list("pk", flat=True).first()
            return request_page(request_id) if request_id else ""

        def followers(case) -> list[int]:
            # The elder's registered family hear what the requester hears.
            owner = Request.objects.filter(case=case).values_list("beneficiary__owner_id", flat=True).first()
            return [owner] if owner else []

        # Deadlines and escalation are the engine's (cases.tasks.escalate_overdue_cases); the
        # overdue notice stays the service one (services/actions/deadlines.py).
        def ref(case) -> dict:
            # What a case.* frame names besides the case (the sweep's case.escalated; the moves
            # services makes pass it themselves, services/actions/case_mirror.py).
            return {"service_request_id": Request.objects.filter(case=case).values_list("pk", flat=True).first()}

        case_kinds.register(KIND, case_kinds.CaseKind(
            label=label, page=page, followers=followers, ref=ref, on_overdue=tell_request_overdue,
        ))

        from core.metrics import register_gauge
        from services.queries import overdue_request_count

        register_gauge(
            "stq_service_requests_overdue", "Open service requests past their deadline.", [],
            lambda: [((), overdue_request_count())],
        )

        from moderation import recheck
        from moderation.content import SCENE_COMMENT
        from services.models import ServiceRating, ServiceRequest

        # Notes and rating comments saved while WeChat was unreachable: moderation's sweep asks
        # again; the row holds only the verdict, so a conditional UPDATE applies it.
        recheck.register("services.note", recheck.Recheckable(
            model=ServiceRequest, status_field="note_status", select_related=("requester",), order_by=("id",),
            apply=recheck.conditional_update(ServiceRequest, "note_status"),
            text=lambda req: {"user": req.requester, "content": req.note, "scene": SCENE_COMMENT},
        ))
        recheck.register("services.rating_comment", recheck.Recheckable(
            model=ServiceRating, status_field="comment_status", select_related=("rater",), order_by=("id",),
            apply=recheck.conditional_update(ServiceRating, "comment_status"),
            text=lambda rating: {"user": rating.rater, "content": rating.comment, "scene": SCENE_COMMENT},
        ))

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
