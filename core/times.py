"""Datetimes written the one way the API writes them.

REST responses go through DRF's `DateTimeField`: ISO 8601 in the current time zone
(`TIME_ZONE`, Asia/Shanghai), e.g. `2026-12-01T14:30:00+08:00`. Anything else a client reads
a time from (socket frames, event payloads, which are stored JSON and sent as they are) must
say the same instant the same way, so it is formatted here by that same field, not with
`.isoformat()` on the database's aware UTC value (`…+00:00`).
"""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

_REST = serializers.DateTimeField()


def api_datetime(value: dt.datetime | None) -> str | None:
    """`value` as a REST response shows it (None stays None)."""
    return None if value is None else _REST.to_representation(value)
