"""Validate a request's `extra` answers against its item's field definitions (Open311-like).

One tap is `{item}` alone, so an answer the service needs (a required field, or one with a
default; never a date or time) that the requester did not give is filled in: first from
their last request for the same item, then from the field's `default` (a value, or
`"next_meal_slot"`). A `required` field still empty after that does not refuse the request:
it is listed as `to_confirm` (待确认), for staff to ask when they call back. A value that *is*
given is still checked strictly, so a typo in the client shows up at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from core.errors import InvalidInput

MAX_STRING = 200


def _invalid(key: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_extra_field", message, field=key)


NEXT_MEAL_SLOT = "next_meal_slot"
# Shanghai local hour until which a tap still catches that meal (the kitchen's cut-off).
LUNCH_CUTOFF_HOUR = 10
DINNER_CUTOFF_HOUR = 16


def clean_extra(definitions: list[dict[str, Any]], extra: Any, *, require_all: bool = True) -> dict[str, Any]:
    """Return the answers normalised to JSON-safe values, or raise InvalidInput naming the field.

    Unknown keys are refused rather than dropped, so a typo in the client shows up at once.
    `require_all=False` (one tap) lets required answers be missing: see `to_confirm`.
    """
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        raise InvalidInput("invalid_extra_field", "附加信息格式错误", field="extra")
    by_key = {d["key"]: d for d in definitions}
    unknown = sorted(set(extra) - set(by_key))
    if unknown:
        raise _invalid(unknown[0], f"未知的附加信息项：{unknown[0]}")
    cleaned: dict[str, Any] = {}
    for key, definition in by_key.items():
        label = definition.get("label", key)
        value = extra.get(key)
        if value is None or value == "":
            if definition.get("required") and require_all:
                raise _invalid(key, f"请填写{label}")
            continue
        cleaned[key] = _clean_value(definition, key, label, value)
    return cleaned


def _clean_value(definition: dict[str, Any], key: str, label: str, value: Any) -> Any:
    kind = definition.get("type", "string")
    if kind == "string":
        if not isinstance(value, str) or len(value) > MAX_STRING:
            raise _invalid(key, f"{label}须为不超过{MAX_STRING}字的文字")
        return value.strip()
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise _invalid(key, f"{label}须为非负数字")
        return value
    if kind == "choice":
        if value not in definition.get("choices", []):
            raise _invalid(key, f"{label}须为以下之一：{'、'.join(definition.get('choices', []))}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(key, f"{label}须为是或否")
        return value
    if kind == "date":
        try:
            return dt.date.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            raise _invalid(key, f"{label}须为日期（YYYY-MM-DD）") from None
    if kind == "time":
        try:
            return dt.time.fromisoformat(value).strftime("%H:%M")
        except (TypeError, ValueError):
            raise _invalid(key, f"{label}须为时间（HH:MM）") from None
    raise _invalid(key, f"{label}的类型未知")


def field_definition(definitions: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    return next((d for d in definitions if d.get("key") == key), None)


def with_fallbacks(
    definitions: list[dict[str, Any]], given: Any, *, last: dict[str, Any], now: dt.datetime
) -> Any:
    """`given` with each unanswered field filled from `last` (the requester's previous answers
    for this item, used only where still valid) or from the field's default."""
    if not isinstance(given, dict):
        return given  # clean_extra names the error
    answers = dict(given)
    for definition in definitions:
        key = definition["key"]
        if answers.get(key) not in (None, "") or not fillable(definition):
            continue
        for candidate in (last.get(key), field_default(definition, now)):
            if candidate is None:
                continue
            try:
                answers[key] = _clean_value(definition, key, key, candidate)
            except InvalidInput:
                continue  # the catalog changed since: that old answer no longer fits
            break
    return answers


def fillable(definition: dict[str, Any]) -> bool:
    """Whether a tap without this answer takes one: what the service needs (required, or with a
    default). A date or time is never carried over from an earlier request."""
    return bool(definition.get("required") or "default" in definition) and definition.get("type") not in ("date", "time")


def unanswered(definitions: list[dict[str, Any]], given: Any) -> bool:
    """Whether `with_fallbacks` would have anything to fill in."""
    answered = given if isinstance(given, dict) else {}
    return any(fillable(d) and answered.get(d["key"]) in (None, "") for d in definitions)


def to_confirm(definitions: list[dict[str, Any]], extra: dict[str, Any]) -> list[dict[str, str]]:
    """Required fields a request was filed without: what staff confirm by phone."""
    return [
        {"key": d["key"], "label": d.get("label", d["key"])}
        for d in definitions
        if d.get("required") and extra.get(d["key"]) in (None, "")
    ]


def next_meal_slot(now: dt.datetime) -> str:
    hour = timezone.localtime(now).hour
    return "晚餐" if LUNCH_CUTOFF_HOUR <= hour < DINNER_CUTOFF_HOUR else "午餐"


def field_default(definition: dict[str, Any], now: dt.datetime) -> Any:
    default = definition.get("default")
    if default == NEXT_MEAL_SLOT:
        return next_meal_slot(now)
    return default
