from django.apps import AppConfig


class SensorsConfig(AppConfig):
    name = "sensors"
    verbose_name = "物联感知"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        register_periodic("sensors.tasks.check_inactive_homes", 600)
        register_periodic("sensors.tasks.check_device_maintenance", 1800)

        from cases import kinds
        from cases.models import CaseEvent
        from sensors.actions.alarms import CASE_KIND
        from sensors.actions.rules import rule_title
        from sensors.models import SensorCase

        def label(case) -> str:
            alert = SensorCase.objects.filter(case=case).select_related("device__place").first()
            if alert is not None:
                return rule_title(alert.device, alert.rule)
            # A case whose alert row is gone (erased with the home's consent): the opening note.
            note = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SUBMITTED).values_list("reason", flat=True).first()
            return note or "设备报警"

        def page(case) -> str:
            return f"pages/sensors/alert?case={case.pk}"

        kinds.register(CASE_KIND, kinds.CaseKind(label=label, page=page))

        from notifications import kinds as notification_kinds
        from residents.access import profile
        from residents.models import Role
        from sensors.actions.leaders import KIND as LEADER_KIND

        # Only 楼组长 are asked to consent to the building group's alarm message.
        notification_kinds.register_audience(LEADER_KIND, lambda user: profile(user).has_role(Role.Kind.BUILDING_LEADER))
