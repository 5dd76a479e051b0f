"""GeoReport v2 query and form parameters, parsed strictly: anything malformed is 400
`invalid_input` naming the parameter (answered in the spec's error shape by open311.api)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from core.errors import InvalidInput

COORDINATE = Decimal("0.000001")  # matters.Matter.latitude/longitude keep 6 decimals
STATUSES = frozenset({"open", "closed"})
MAX_LIST = 200  # ids or codes in one comma-separated parameter


def _bad(param: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_input", message, field=param)


def _decimal(param: str, raw: str, limit: int) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        raise _bad(param, f"{param} 不是有效的数字") from None
    if not value.is_finite() or not -limit <= value <= limit:
        raise _bad(param, f"{param} 超出范围（±{limit}）")
    return value.quantize(COORDINATE)


def parse_point(lat: str | None, long: str | None) -> tuple[Decimal | None, Decimal | None]:
    """lat and long (WGS-84 decimal degrees) come together or not at all."""
    if not lat and not long:
        return None, None
    if not lat or not long:
        raise _bad("lat" if not lat else "long", "lat 和 long 须同时提供")
    return _decimal("lat", lat, 90), _decimal("long", long, 180)


def parse_datetime(param: str, raw: str | None) -> dt.datetime | None:
    """W3C / ISO 8601; a value without an offset is read as Shanghai time."""
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _bad(param, f"{param} 须为 ISO 8601 时间，如 2026-12-01T08:00:00+08:00") from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def parse_list(param: str, raw: str | None, *, integers: bool = False) -> list:
    if not raw:
        return []
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) > MAX_LIST:
        raise _bad(param, f"{param} 最多 {MAX_LIST} 个")
    if integers:
        if not all(v.isascii() and v.isdigit() and len(v) < 19 for v in values):
            raise _bad(param, f"{param} 须为以逗号分隔的数字")
        return [int(v) for v in values]
    return values


def parse_statuses(raw: str | None) -> set[str]:
    statuses = set(parse_list("status", raw))
    if statuses - STATUSES:
        raise _bad("status", "status 只能是 open 或 closed")
    return statuses
