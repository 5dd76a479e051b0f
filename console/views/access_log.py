"""敏感信息查看记录: every full view of someone else's phone, address or health notes, for district admins."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.shortcuts import render
from django.utils import timezone

from console.access import console_view
from console.export import Table, export_response
from core.errors import NotFound
from residents.access import profile
from residents.models import SensitiveAccessLog

PAGE_SIZE = 50
EXPORT_LIMIT = 10_000  # a CSV larger than this is a sign the filters are too wide
# Field names as the writers record them (residents.api, services.actions.privacy, residents.pipl).
FIELD_LABELS = {
    "phone": "电话",
    "address": "地址",
    "health_notes": "健康备注",
    "health_note": "健康备注（工单）",
    "room": "房号",
    "account_erased": "账号注销",
}


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filtered(params) -> tuple[QuerySet[SensitiveAccessLog], dict]:
    entries = SensitiveAccessLog.objects.select_related("viewer", "subject_user").order_by("-viewed_at", "-id")
    chosen: dict = {"viewer": params.get("viewer", "").strip()[:50], "field": params.get("field", "")}
    if chosen["viewer"]:
        term = chosen["viewer"]
        entries = entries.filter(Q(viewer__username__icontains=term) | Q(viewer__nickname__icontains=term))
    if chosen["field"] in FIELD_LABELS:
        entries = entries.filter(field=chosen["field"])
    else:
        chosen["field"] = ""
    # Day bounds in local time, as aware datetimes: portable and uses the viewed_at index.
    tz = timezone.get_current_timezone()
    start, end = _date(params.get("from")), _date(params.get("to"))
    if start:
        entries = entries.filter(viewed_at__gte=datetime.combine(start, time.min, tzinfo=tz))
    if end:
        entries = entries.filter(viewed_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))
    chosen["from"], chosen["to"] = start, end
    return entries, chosen


def _subject(entry: SensitiveAccessLog) -> str:
    name = entry.subject_user.display_name if entry.subject_user else "—"
    return f"{name}（{entry.subject_label}）"


@console_view()
def access_log(request):
    # One district per deployment: a district admin sees every record. Anyone else: "not yours" (404).
    if not profile(request.user).is_district_admin:
        raise NotFound()
    entries, chosen = _filtered(request.GET)
    if request.GET.get("format") == "csv":
        table = Table(
            key="access-log",
            title="敏感信息查看记录",
            columns=["时间", "查看人", "账号", "被查看人", "字段", "页面/接口"],
        )
        for e in entries[:EXPORT_LIMIT]:
            table.rows.append(
                [
                    timezone.localtime(e.viewed_at).isoformat(timespec="seconds"),
                    e.viewer.display_name,
                    e.viewer.username,
                    _subject(e),
                    FIELD_LABELS.get(e.field, e.field),
                    e.screen,
                ]
            )
        return export_response(table, "csv", filename=f"敏感信息查看记录-{timezone.localdate()}")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "console/access_log.html",
        {
            "active": "access_log",
            "page": page,
            "rows": [{"e": e, "subject": _subject(e), "field": FIELD_LABELS.get(e.field, e.field)} for e in page],
            "fields": FIELD_LABELS.items(),
            "chosen": chosen,
            "querystring_base": (query.urlencode() + "&") if query else "",
        },
    )
