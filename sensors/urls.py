from django.urls import path

from sensors import api

urlpatterns = [
    path("sensors/ingest", api.IngestView.as_view(), name="sensors-ingest"),
    path("sensors/devices/import", api.DeviceImportView.as_view(), name="sensors-device-import"),
    path("sensors/false-alarm-rates", api.FalseAlarmRatesView.as_view(), name="sensors-false-alarm-rates"),
    path("sensors/cases/<int:case_id>/close", api.CloseSensorCaseView.as_view(), name="sensors-case-close"),
]
