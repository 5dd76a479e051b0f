"""Keyset (cursor) pagination: page 1000 costs what page 1 costs.

`paginate_keyset(queryset, ordering=("-is_pinned", "-created_at", "-id"), cursor=..., limit=...)`
orders by the given fields (the last must be unique, normally the id), fetches limit+1
rows and returns the page plus an opaque cursor for the next one. The cursor holds the
last row's ordering values; the next page filters with the row-value comparison
written out as ORs, which PostgreSQL and SQLite both serve from a matching index.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from core.errors import InvalidInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return dt.datetime.fromisoformat(value["t"])
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
        if "n" in value:
            return Decimal(value["n"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n_fields: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != n_fields:
            raise ValueError
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("invalid_cursor", "分页游标无效") from None


def parse_limit(raw: str | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput("invalid_limit", "limit 必须是整数") from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput("invalid_limit", f"limit 必须在 1 到 {MAX_PAGE_SIZE} 之间")
    return limit


def _after(fields: Sequence[str], values: Sequence[Any]) -> Q:
    condition = Q()
    for i, field in enumerate(fields):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        clause = Q(**{f"{name}__{op}": values[i]})
        for prev_field, prev_value in zip(fields[:i], values[:i], strict=True):
            clause &= Q(**{prev_field.lstrip("-"): prev_value})
        condition |= clause
    return condition


def paginate_keyset(
    queryset: QuerySet, *, ordering: Sequence[str], cursor: str | None, limit: int
) -> Page:
    if cursor:
        values = decode_cursor(cursor, len(ordering))
        queryset = queryset.filter(_after(ordering, values))
    rows = list(queryset.order_by(*ordering)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor([_attr(last, f.lstrip("-")) for f in ordering])
    return Page(items=rows, next_cursor=next_cursor)


def _attr(obj: Any, path: str) -> Any:
    if isinstance(obj, dict):  # a `.values()` row: the ordering names are its keys
        return obj[path]
    for part in path.split("__"):
        obj = getattr(obj, part)
        if hasattr(obj, "pk") and not isinstance(obj, (str, int)):
            obj = obj.pk
    return obj


def page_response(page: Page, serialized: list) -> dict:
    return {"results": serialized, "next_cursor": page.next_cursor}
