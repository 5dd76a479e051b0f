"""Datetimes written the one way the API writes them.

REST responses go through DRF's `DateTimeField`: ISO 8601 in the current time zone
(`TIME_ZONE`, Asia/Shanghai), e.g. `2026-12-01T14:30:00+08:00`. Anything else a client reads
a time from (socket frames, event payloads, which are stored JSON and sent as they are, and the
plain-dict list paths) must say the same instant the same way, so it is formatted here to that
field's rules, not with `.isoformat()` on the database's aware UTC value (`…+00:00`).

`api_datetime` is DRF's answer without DRF's per-value path: the field looks up the format
setting, the current time zone (an asgiref Local read) and two type checks for every value, which
on the staff queue's page of 20 rows — ~100 timestamps — was 7 % of the request's CPU
(bench/README.md, "Session 13"). Here an aware value is converted and written directly, with
the zone looked up once per call (or once per page, `api_datetimes`); anything else (a naive
value, a string, an instant outside the zone's range) goes to DRF's own field, so the output is
DRF's in every case (tests/core/test_times.py compares the two).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.settings import api_settings

_REST = serializers.DateTimeField()


def _iso_in(zone: dt.tzinfo | None) -> Callable[[dt.datetime | None], str | None]:
    if zone is None or str(api_settings.DATETIME_FORMAT).lower() != "iso-8601":
        return _slow

    def write(value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        if type(value) is not dt.datetime or value.utcoffset() is None:
            return _slow(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return _slow(value)  # DRF's own error for an instant the zone cannot show
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


def _slow(value):
    return None if value is None else _REST.to_representation(value)


_WRITERS: dict[dt.tzinfo | None, Callable[[dt.datetime | None], str | None]] = {}


def api_datetimes() -> Callable[[dt.datetime | None], str | None]:
    """A writer bound to the current time zone, for a page of values: `write = api_datetimes()`,
    then `write(value)` per value (None stays None)."""
    zone = timezone.get_current_timezone() if settings.USE_TZ else None
    writer = _WRITERS.get(zone)
    if writer is None:
        writer = _WRITERS.setdefault(zone, _iso_in(zone))  # one per zone: a handful at most
    return writer


def api_datetime(value: dt.datetime | None) -> str | None:
    """`value` as a REST response shows it (None stays None)."""
    return api_datetimes()(value)
