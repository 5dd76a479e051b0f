"""Validate a request's `extra` answers against its item's field definitions (Open311-like)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import InvalidInput

MAX_STRING = 200


def _invalid(key: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_extra_field", message, field=key)


def clean_extra(definitions: list[dict[str, Any]], extra: Any) -> dict[str, Any]:
    """Return the answers normalised to JSON-safe values, or raise InvalidInput naming the field.

    Unknown keys are refused rather than dropped, so a typo in the client shows up at once.
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
            if definition.get("required"):
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
