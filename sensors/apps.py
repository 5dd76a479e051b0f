from django.apps import AppConfig


class SensorsConfig(AppConfig):
    name = "sensors"
    verbose_name = "物联感知"

    def ready(self) -> None:
        from cases import kinds
        from sensors.actions.alarms import CASE_KIND
        from sensors.models import SensorCase

        def label(case) -> str:
            alert = SensorCase.objects.filter(case=case).select_related("device__place").first()
            return f"{alert.device.get_kind_display()}报警：{alert.device.where}" if alert else "设备报警"

        def page(case) -> str:
            return f"pages/sensors/alert?case={case.pk}"

        kinds.register(CASE_KIND, kinds.CaseKind(label=label, page=page))
