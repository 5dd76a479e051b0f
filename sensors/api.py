"""Sensors' HTTP endpoints under /api/v1/sensors/ (docs/sensors.md):

- `POST ingest`: a vendor platform's signed push (no bearer token: the HMAC signature is the
  credential), throttled per integration;
- `POST devices/import`: staff upload a vendor's CSV (all or nothing, row errors listed);
- `GET false-alarm-rates`: per device, for the neighborhoods the caller is staff of;
- `POST cases/<case_id>/close`: staff answer an alert, saying whether it was a false alarm.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound, TooLarge
from core.throttling import ScopedUserThrottle
from residents.access import profile
from sensors import queries
from sensors import serializers as s
from sensors.actions.alarms import do_close_sensor_case
from sensors.actions.devices import MAX_CSV_BYTES, do_import_devices
from sensors.actions.ingest import do_ingest_batch
from sensors.signature import check_signature

INTEGRATION_HEADER = "X-Sensor-Integration"
TIMESTAMP_HEADER = "X-Sensor-Timestamp"
SIGNATURE_HEADER = "X-Sensor-Signature"


class IngestThrottle(ScopedUserThrottle):
    """Counted per claimed integration (THROTTLE_SENSOR_INGEST), before the signature is checked."""

    scope = "sensor_ingest"

    def get_cache_key(self, request, view) -> str:
        claimed = request.headers.get(INTEGRATION_HEADER, "")
        ident = f"integration:{claimed}" if claimed.isdigit() and len(claimed) <= 18 else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IngestView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [IngestThrottle]

    @extend_schema(
        operation_id="sensors_ingest", request=s.IngestIn, responses=s.IngestOut, auth=[],
        parameters=[OpenApiParameter(h, str, OpenApiParameter.HEADER, required=True)
                    for h in (INTEGRATION_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)],
        summary="物联平台推送设备事件（HMAC-SHA256 签名；逐条答复 accepted/duplicate/refused）",
    )
    def post(self, request):
        limit = settings.SENSOR_INGEST_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > limit:
            raise TooLarge("payload_too_large", f"请求内容过大（上限 {limit // 1024} KB）", max_bytes=limit)
        body = request.body  # raw bytes: the signature covers them exactly as sent
        if len(body) > limit:
            raise TooLarge("payload_too_large", f"请求内容过大（上限 {limit // 1024} KB）", max_bytes=limit)
        integration = check_signature(
            integration_id=request.headers.get(INTEGRATION_HEADER, ""), timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
            signature=request.headers.get(SIGNATURE_HEADER, ""), body=body,
        )
        return Response(do_ingest_batch(integration, request.data))


class DeviceImportView(APIView):
    @extend_schema(operation_id="sensors_devices_import", request={"multipart/form-data": s.DeviceImportIn},
                   responses={201: s.DeviceImportOut}, summary="导入厂商设备清单（任一行有误则全部不导入，答 422 并列出各行错误）")
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("file_required", "请上传 CSV 文件", field="file")
        if upload.size > MAX_CSV_BYTES:
            raise TooLarge("payload_too_large", "文件过大（上限 2 MB）")
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("not_utf8", "CSV 须为 UTF-8 编码", field="file") from None
        return Response({"created": do_import_devices(text, actor=request.user)}, status=201)


class FalseAlarmRatesView(APIView):
    @extend_schema(operation_id="sensors_false_alarm_rates", responses=s.FalseAlarmRatesOut,
                   parameters=[OpenApiParameter("neighborhood", int)], summary="各设备误报率（本人任工作人员的居委/村）")
    def get(self, request):
        staff_of = profile(request.user).staff_of
        wanted = request.query_params.get("neighborhood")
        if wanted is not None:
            if not wanted.isdigit() or int(wanted) not in staff_of:
                raise NotFound("neighborhood_not_found", "居委/村不存在")
            staff_of = {int(wanted)}
        return Response({"devices": queries.false_alarm_rates(staff_of)})


class CloseSensorCaseView(APIView):
    @extend_schema(operation_id="sensors_case_close", request=s.CloseSensorCaseIn, responses=s.CloseSensorCaseOut,
                   summary="处置设备告警（须说明是否误报）")
    def post(self, request, case_id: int):
        false_alarm = request.data.get("false_alarm")
        if not isinstance(false_alarm, bool):
            raise InvalidInput("false_alarm_required", "请说明是否误报", field="false_alarm")
        answer = request.data.get("answer") or ""
        if not isinstance(answer, str) or len(answer) > 2000:
            raise InvalidInput("invalid_answer", "处置说明须为 2000 字以内的文字", field="answer")
        alert = do_close_sensor_case(case_id, actor=request.user, false_alarm=false_alarm, answer=answer)
        return Response({"case": alert.case_id, "outcome": alert.outcome, "alarm_count": alert.alarm_count})
