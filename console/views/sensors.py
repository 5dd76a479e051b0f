"""物联感知 in the console (docs/sensors.md, Console): the devices of the staff's neighborhoods with
their state, battery, last heartbeat and false-alarm rate; one device's alarm history; and the
设备告警 board, where the alerts of the user's units and neighborhoods wait with their minute
deadlines and are closed with an outcome (误报 / 确有警情).

Every rule is the sensors app's: the state shown (sensors.queries.display_state), the counts
(sensors.queries.devices_with_alarm_counts) and the close itself
(sensors.actions.alarms.do_close_sensor_case, the API's call). Scope is enforced here, as on the
other boards: a device or alert outside it is 404. Each page runs a fixed number of queries.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.access import unit_ids_of
from cases.models import Case
from console.access import back_url, console_view
from console.views.matters import deadline_class
from core.errors import NotFound, Unprocessable
from residents.models import Region
from sensors.actions.alarms import CASE_KIND, do_close_sensor_case
from sensors.actions.devices import COLUMNS, MAX_CSV_BYTES, REQUIRED, do_import_devices
from sensors.models import Device, SensorCase
from sensors.queries import Display, display_conditions, display_state, with_alarm_counts

PAGE_SIZE = 50


def _chosen_neighborhood(request) -> int | None:
    raw = request.GET.get("neighborhood", "")
    return int(raw) if raw.isdigit() and int(raw) in request.console.neighborhood_ids else None


def _querystring_base(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return (query.urlencode() + "&") if query else ""


@console_view()
def devices(request):
    scope, now = request.console, timezone.now()
    chosen = _chosen_neighborhood(request)
    rows = Device.objects.filter(region_id__in=[chosen] if chosen else scope.neighborhood_ids)
    kind = request.GET.get("kind", "")
    if kind in Device.Kind.values:
        rows = rows.filter(kind=kind)
    conditions = display_conditions(now)
    counts = rows.aggregate(**{key: Count("pk", filter=conditions[key]) for key in Display.LABELS})
    display = request.GET.get("state", "")
    if display in Display.LABELS:
        rows = rows.filter(conditions[display])
    page = Paginator(with_alarm_counts(rows).order_by("region__code", "kind", "vendor_device_id", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/sensor_devices.html", {
        "active": "sensors",
        "page": page,
        "rows": [_device_row(d, now) for d in page.object_list],
        "cards": [(key, label, counts[key]) for key, label in Display.LABELS.items()],
        "state": display,
        "kinds": Device.Kind.choices,
        "kind": kind,
        "neighborhoods": Region.objects.filter(pk__in=scope.neighborhood_ids).order_by("code"),
        "chosen": chosen,
        "querystring_base": _querystring_base(request),
    })


def _device_row(device: Device, now) -> dict:
    state = display_state(device, now)
    rate = round(100 * device.false_alarms / device.closed_alerts) if device.closed_alerts else None
    return {"device": device, "state": state, "state_label": Display.LABELS[state], "false_alarm_pct": rate}


@console_view()
def import_devices(request):
    """设备导入: staff upload the vendor's CSV; the sensors app checks every row
    (sensors.actions.devices, the API's call) and imports all or nothing. A refused file comes
    back with every bad row's line, column and reason in Chinese, as the API lists them."""
    errors, summary = [], ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            summary = "请选择要上传的 CSV 文件"
        elif upload.size > MAX_CSV_BYTES:
            summary = "文件过大（上限 2 MB）"
        else:
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                summary = "CSV 须为 UTF-8 编码"
            else:
                try:
                    created = do_import_devices(text, actor=request.user)
                except Unprocessable as exc:
                    summary, errors = exc.message, exc.detail.get("errors", [])
                else:
                    messages.success(request, f"已导入 {created} 台设备")
                    return redirect(reverse("console:sensors"))
    return render(request, "console/sensor_import.html", {
        "active": "sensors", "summary": summary, "errors": errors, "columns": COLUMNS, "required": REQUIRED,
    }, status=422 if summary else 200)


@console_view()
def device_detail(request, device_id: int):
    device = with_alarm_counts(Device.objects.filter(region_id__in=request.console.neighborhood_ids, pk=device_id)).first()
    if device is None:
        raise NotFound()
    history = list(
        SensorCase.objects.filter(device=device).select_related("case").order_by("-created_at", "-pk")[:100]
    )
    return render(request, "console/sensor_device.html", {
        "active": "sensors", "row": _device_row(device, timezone.now()), "history": history,
    })


def board_alerts(request) -> QuerySet[SensorCase]:
    """The alerts the user may see and answer: at their units, or of devices in their
    neighborhoods (staff)."""
    return SensorCase.objects.filter(
        Q(case__unit_id__in=unit_ids_of(request.user)) | Q(device__region_id__in=request.console.neighborhood_ids),
        case__kind=CASE_KIND,
    )


@console_view(units=True)
def alerts(request):
    now = timezone.now()
    rows = board_alerts(request)
    counts = rows.aggregate(open=Count("pk", filter=Q(is_open=True)), overdue=Count("pk", filter=Q(is_open=True, case__due_at__lt=now)))
    show = request.GET.get("show", "open")
    if show == "open":
        rows = rows.filter(is_open=True).order_by("case__due_at", "-pk")
    else:
        rows = rows.filter(is_open=False).order_by("-closed_at", "-pk")
    rows = rows.select_related("case", "case__unit", "device", "device__region", "device__place")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/sensor_alerts.html", {
        "active": "sensor_alerts",
        "page": page,
        "rows": [{"alert": a, "deadline": deadline_class(a.case, now)} for a in page.object_list],
        "counts": counts,
        "show": show,
        "outcomes": SensorCase.Outcome.choices,
        "statuses": dict(Case.Status.choices),
        "querystring_base": _querystring_base(request),
    })


@require_POST
@console_view(units=True)
def close_alert(request, case_id: int):
    if not board_alerts(request).filter(case_id=case_id).exists():
        raise NotFound()
    outcome = request.POST.get("outcome", "")
    if outcome not in SensorCase.Outcome.values:
        messages.error(request, "请选择处置结果：误报或确有警情")
        return redirect(back_url(request, reverse("console:sensor_alerts")))
    alert = do_close_sensor_case(
        case_id, actor=request.user, false_alarm=outcome == SensorCase.Outcome.FALSE_ALARM, answer=request.POST.get("answer", "")
    )
    messages.success(request, f"告警 #{alert.case_id} 已处置：{alert.get_outcome_display()}")
    return redirect(back_url(request, reverse("console:sensor_alerts")))
