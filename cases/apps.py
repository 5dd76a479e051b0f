from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "案件引擎"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("cases.tasks.escalate_overdue_cases", 60)
        register_periodic("cases.tasks.close_unconfirmed_cases", 3600)

        from cases.queries import overdue_case_counts
        from core.metrics import register_gauge

        register_gauge("stq_cases_overdue", "Cases past their current deadline, per kind.", ["kind"], overdue_case_counts)

        from cases.access import unit_ids_of
        from notifications import kinds
        from residents.access import profile
        from residents.models import Role

        # Unit-side kinds: only people who work for a unit (or officers, for overdue) are asked to consent.
        kinds.register_audience("case_assigned", lambda user: bool(unit_ids_of(user)))
        kinds.register_audience(
            "case_overdue", lambda user: bool(unit_ids_of(user)) or profile(user).has_role(Role.Kind.STREET_OFFICER)
        )

        from notifications import streams

        # `unit.<id>`: a unit's board of cases (cases.realtime), for the unit's members only.
        streams.register("unit", lambda user, ident: ident.isdigit() and int(ident) in unit_ids_of(user))

        from cases.models import Case
        from moderation import recheck
        from moderation.content import SCENE_COMMENT

        # A rating comment saved while WeChat was unreachable (pending_check): the one sweep asks again.
        recheck.register("cases.rating_comment", recheck.Recheckable(
            model=Case, status_field="rating_comment_status", select_related=("reporter",), order_by=("id",),
            apply=recheck.conditional_update(Case, "rating_comment_status"),
            text=lambda case: {"user": case.reporter, "content": case.rating_comment, "scene": SCENE_COMMENT},
        ))
