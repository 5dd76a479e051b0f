"""Sortable columns and a page-size choice for the console's lists.

`?sort=<key>` or `?sort=-<key>` picks a column from the view's whitelist (anything else is
the view's default order: no request value ever reaches `order_by` unchecked, so no SQL
injection and no sorting on a field the screen does not show); the primary key, in the same
direction, always breaks ties, so rows do not move between pages. `?per_page=` is one of
PAGE_SIZES. The sort links are drawn by the `sort_header` tag (console_tags.py) and the size
links by _pagination.html.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, OrderBy
from django.http import HttpRequest, QueryDict

PAGE_SIZES = (20, 50, 100)


@dataclass(frozen=True)
class ListOptions:
    sort: str  # "" (the default order), "<key>" or "-<key>"
    ordering: tuple
    per_page: int
    query: QueryDict  # the request's parameters without `page`, for the links


def _order(field: str, descending: bool) -> OrderBy:
    # Empty values (no deadline, no unit) last whichever way, as the default orders have them.
    return F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)


def list_options(request: HttpRequest, sorts: dict[str, str], default: tuple, *, default_size: int = 50) -> ListOptions:
    """`sorts` maps a sort key to the model field it orders by; `default` is the order when none
    (or an unknown one) is asked for."""
    raw = request.GET.get("sort", "")
    key = raw.removeprefix("-")
    if key in sorts:
        descending = raw.startswith("-")
        ordering = (_order(sorts[key], descending), "-pk" if descending else "pk")
        sort = raw
    else:
        ordering, sort = default, ""
    size = request.GET.get("per_page", "")
    per_page = int(size) if size.isdigit() and int(size) in PAGE_SIZES else default_size
    query = request.GET.copy()
    query.pop("page", None)
    return ListOptions(sort=sort, ordering=ordering, per_page=per_page, query=query)
