"""Kind → subscribe-message template, and WeChat's rules for each data field.

WeChat rejects a message whose field breaks its type's rule (47003, naming the field),
so values are cut and formatted here, by the key's type prefix (thing1 → thing):

| type | rule (WeChat subscribe-message docs) |
|---|---|
| thing | ≤ 20 characters |
| phrase | ≤ 5 characters (Chinese) |
| name | ≤ 10 characters |
| character_string, letter, number | ≤ 32 characters |
| symbol | ≤ 5 characters |
| phone_number | ≤ 17 characters |
| car_number | ≤ 8 characters |
| amount | ≤ 11 characters |
| time | "2026年11月27日 14:30" (24-hour, date optional) |
| date | "2026年11月27日" (a time may follow) |

A value WeChat would refuse as empty becomes "-".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.memo import ProcessMemo
from notifications.models import Notification, SubscribeTemplate

MAX_LENGTHS = {
    "thing": 20,
    "phrase": 5,
    "name": 10,
    "character_string": 32,
    "letter": 32,
    "number": 32,
    "symbol": 5,
    "phone_number": 17,
    "car_number": 8,
    "amount": 11,
}
EMPTY = "-"
_KEY_TYPE = re.compile(r"^([a-z_]+?)\d*$")


@dataclass(frozen=True)
class TemplateSpec:
    kind: str
    template_id: str
    fields: dict[str, str]
    page: str  # only when the notification names no page of its own
    long_term: bool
    name: str = ""  # the template's title in the mini-program admin (what the consent popup shows)


TEMPLATES = ProcessMemo("notifications.templates", ttl_seconds=60)  # cleared by template saves (notifications.apps)


def template_for(kind: str) -> TemplateSpec | None:
    """The active template for a kind: the admin's row first, then settings.NOTIFICATION_TEMPLATES.

    Every notification asks this, so each process keeps the answer for a minute (core.memo)."""
    return TEMPLATES.get(kind, _load_template)


def _load_template(kind: str) -> TemplateSpec | None:
    row = SubscribeTemplate.objects.filter(kind=kind, is_active=True).first()
    if row is not None:
        return _from_row(row)
    configured = getattr(settings, "NOTIFICATION_TEMPLATES", {}).get(kind)
    if configured:
        return _from_setting(kind, configured)
    return None


def _from_row(row: SubscribeTemplate) -> TemplateSpec:
    return TemplateSpec(row.kind, row.template_id, dict(row.fields), row.page, row.long_term, row.name)


def _from_setting(kind: str, configured: dict[str, Any]) -> TemplateSpec:
    return TemplateSpec(
        kind,
        configured["template_id"],
        dict(configured.get("fields", {})),
        configured.get("page", ""),
        bool(configured.get("long_term", False)),
        configured.get("name", ""),
    )


def active_templates() -> list[TemplateSpec]:
    """Every kind's template as template_for answers it (an active row, else the setting), by kind."""
    specs = {row.kind: _from_row(row) for row in SubscribeTemplate.objects.filter(is_active=True)}
    for kind, configured in getattr(settings, "NOTIFICATION_TEMPLATES", {}).items():
        if kind not in specs and configured:
            specs[kind] = _from_setting(kind, configured)
    return [specs[kind] for kind in sorted(specs)]


def is_long_term(template_id: str) -> bool:
    if SubscribeTemplate.objects.filter(template_id=template_id, long_term=True).exists():
        return True
    return any(
        c.get("template_id") == template_id and c.get("long_term")
        for c in getattr(settings, "NOTIFICATION_TEMPLATES", {}).values()
    )


def key_type(key: str) -> str:
    match = _KEY_TYPE.match(key)
    return match.group(1) if match else key


def _cut(text: str, limit: int, *, ellipsis: bool) -> str:
    # WeChat counts characters, not bytes. Only free text (thing) may carry an ellipsis:
    # name/phrase must stay pure characters of their kind.
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if ellipsis else text[:limit]


def _as_local_datetime(value: Any) -> dt.datetime | dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return timezone.localtime(parsed) if timezone.is_aware(parsed) else parsed
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _chinese_date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def format_value(key: str, value: Any) -> str:
    """The string WeChat accepts for data key `key` (e.g. thing1, time2)."""
    kind = key_type(key)
    if kind in ("time", "date"):
        moment = _as_local_datetime(value)
        if moment is None:
            text = str(value or "").strip()
            return text or EMPTY
        if isinstance(moment, dt.datetime):
            return f"{_chinese_date(moment)} {moment:%H:%M}"
        return _chinese_date(moment)
    text = "" if value is None else str(value)
    text = " ".join(text.split())  # newlines are refused in thing fields
    if kind == "number":
        text = re.sub(r"[^0-9.]", "", text)
    if kind == "character_string":
        text = re.sub(r"[^\x21-\x7e]", "", text)
    limit = MAX_LENGTHS.get(kind)
    if limit is not None:
        text = _cut(text, limit, ellipsis=kind == "thing")
    return text or EMPTY


def source_value(notification: Notification, source: str) -> Any:
    if source.startswith("="):
        return source[1:]
    if source.startswith("data."):
        return (notification.data or {}).get(source[5:], "")
    if source in ("title", "body", "kind", "created_at", "page"):
        return getattr(notification, source)
    return ""


def build_data(spec: TemplateSpec, notification: Notification) -> dict[str, str]:
    """WeChat's `data` for this notification, each field already within its limits."""
    return {key: format_value(key, source_value(notification, source)) for key, source in spec.fields.items()}
