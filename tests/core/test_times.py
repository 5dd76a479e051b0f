"""core/times.py writes every datetime exactly as DRF's DateTimeField does, without its per-value path."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from core.times import api_datetime, api_datetimes

UTC = dt.UTC
VALUES = [
    None,
    dt.datetime(2026, 12, 1, 6, 30, tzinfo=UTC),
    dt.datetime(2026, 12, 1, 6, 30, 0, 123456, tzinfo=UTC),
    dt.datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=ZoneInfo("Asia/Shanghai")),
    dt.datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo("America/New_York")),  # a DST gap
    dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),  # a DST fold
    dt.datetime(2026, 12, 1, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    dt.datetime(1900, 1, 1, tzinfo=UTC),  # before Shanghai's standard offset (+08:05:43 LMT)
    dt.datetime(2026, 12, 1, 6, 30),  # naive: DRF makes it aware in the current zone
    dt.datetime(2026, 3, 8, 2, 30),  # naive, in a gap when the zone is New York
    "2026-12-01T06:30:00Z",  # a string goes through unchanged
]


def _drf(value):
    # A new field each time, as a serializer makes one: the reference, not a shared instance.
    return None if value is None else serializers.DateTimeField().to_representation(value)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata"])
def test_every_value_reads_as_drf_writes_it(zone):
    with timezone.override(zone):
        write = api_datetimes()
        for value in VALUES:
            try:
                expected = _drf(value)
            except serializers.ValidationError as error:
                with pytest.raises(serializers.ValidationError) as raised:
                    write(value)
                assert raised.value.detail == error.detail
                continue
            assert write(value) == expected, (zone, value)
            assert api_datetime(value) == expected, (zone, value)


def test_utc_is_written_with_z_and_shanghai_with_its_offset():
    moment = dt.datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    with timezone.override("UTC"):
        assert api_datetime(moment) == "2026-12-01T06:30:00Z"
    assert api_datetime(moment) == "2026-12-01T14:30:00+08:00"  # TIME_ZONE, the default


def test_an_instant_the_zone_cannot_show_is_drfs_error_not_a_crash():
    edge = dt.datetime.max.replace(tzinfo=UTC)
    with pytest.raises(serializers.ValidationError) as drf:
        _drf(edge)
    with pytest.raises(serializers.ValidationError) as ours:
        api_datetime(edge)
    assert ours.value.detail == drf.value.detail


def test_a_writer_keeps_the_zone_it_was_made_in():
    moment = dt.datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    with timezone.override("UTC"):
        write = api_datetimes()
    assert write(moment) == "2026-12-01T06:30:00Z"
