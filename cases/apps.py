from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "案件引擎"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("cases.tasks.escalate_overdue_cases", 60)
        register_periodic("cases.tasks.close_unconfirmed_cases", 3600)

        from cases.access import unit_ids_of
        from notifications import kinds
        from residents.access import profile
        from residents.models import Role

        # Unit-side kinds: only people who work for a unit (or officers, for overdue) are asked to consent.
        kinds.register_audience("case_assigned", lambda user: bool(unit_ids_of(user)))
        kinds.register_audience(
            "case_overdue", lambda user: bool(unit_ids_of(user)) or profile(user).has_role(Role.Kind.STREET_OFFICER)
        )
