"""Durations kept as bucket counts, so a median can be read from sums of them.

The dashboard's medians (time to answer a post, to accept and to complete a service request)
come from duration histograms the snapshot refresh stores per neighborhood, day and bucket
(console/snapshots.py): a street's or a period's histogram is the sum of its rows. Buckets are
fine where the dashboard shows detail (6 minutes up to a day) and coarser in the tail (1 hour
up to 3 days, 1 day up to 60 days); a median is read as the lower bound of the bucket holding
the middle item (the mean of two for an even count), so it is never above the exact median and
at most one bucket width below.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Case, Count, F, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.functions import Cast, Floor, Round

# Fine where the dashboard shows detail (0.1 h up to a day), coarser in the tail. The median
# is read as the lower bound of the bucket holding the middle item (the mean of two for an
# even count), so it is never above the exact median and at most one bucket width below.
_FINE_S, _FINE_W = 24 * 3600, 360  # buckets 0..239: 6 minutes
_HOUR_S, _HOUR_W = 72 * 3600, 3600  # buckets 240..287: 1 hour
_DAY_S, _DAY_W = 60 * 86400, 86400  # buckets 288..344: 1 day
_HOUR_B = _FINE_S // _FINE_W
_DAY_B = _HOUR_B + (_HOUR_S - _FINE_S) // _HOUR_W
_LAST = _DAY_B + (_DAY_S - _HOUR_S) // _DAY_W  # 345: 60 days and more


def bucket_start_seconds(bucket: int) -> int:
    if bucket < _HOUR_B:
        return bucket * _FINE_W
    if bucket < _DAY_B:
        return _FINE_S + (bucket - _HOUR_B) * _HOUR_W
    if bucket < _LAST:
        return _HOUR_S + (bucket - _DAY_B) * _DAY_W
    return _DAY_S


def duration_bucket(seconds: float) -> int:
    """Python twin of the SQL bucket expression (tests check them against each other)."""
    s = round(seconds)
    if s < 0:
        return 0
    if s < _FINE_S:
        return s // _FINE_W
    if s < _HOUR_S:
        return _HOUR_B + (s - _FINE_S) // _HOUR_W
    if s < _DAY_S:
        return _DAY_B + (s - _HOUR_S) // _DAY_W
    return _LAST


class SecondsBetween(Func):
    """later - earlier in seconds, portable between PostgreSQL and SQLite."""

    arity = 2
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))", arg_joiner=" - ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _bucket_expr(later: str, earlier: str):
    s = Round(SecondsBetween(F(later), F(earlier)))
    return Cast(
        Case(
            When(Q(_s__lt=0), then=Value(0)),
            When(Q(_s__lt=_FINE_S), then=Floor(F("_s") / Value(_FINE_W))),
            When(Q(_s__lt=_HOUR_S), then=Value(_HOUR_B) + Floor((F("_s") - Value(_FINE_S)) / Value(_HOUR_W))),
            When(Q(_s__lt=_DAY_S), then=Value(_DAY_B) + Floor((F("_s") - Value(_HOUR_S)) / Value(_DAY_W))),
            default=Value(_LAST),
            output_field=FloatField(),
        ),
        IntegerField(),
    ), s


def histogram(queryset, *, later: str, earlier: str, group: list[str]) -> list[dict]:
    """Rows of `queryset` counted per `group` and duration bucket of `later - earlier`
    (`_b`: the bucket, `n`: the count); rows where either time is missing are left out."""
    bucket, seconds = _bucket_expr(later, earlier)
    return list(
        queryset.annotate(_s=seconds)
        .filter(_s__isnull=False)
        .annotate(_b=bucket)
        .values(*group, "_b")
        .annotate(n=Count("pk"))
        .order_by()
    )


def median_from_buckets(counts: dict[int, int]) -> timedelta | None:
    total = sum(counts.values())
    if not total:
        return None
    wanted = sorted({(total + 1) // 2, (total + 2) // 2})  # 1-based ranks of the middle item(s)
    found: list[int] = []
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        while wanted and wanted[0] <= seen:
            wanted.pop(0)
            found.append(bucket_start_seconds(bucket))
    return timedelta(seconds=sum(found) / len(found))
