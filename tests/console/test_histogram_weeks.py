"""A period's duration histogram is its whole weeks' roll-up rows plus its edge days' rows
(console/figures.py `_bucket_counts`, console/snapshots.py `rewrite_weeks`): for every shape of
period it must count exactly the day rows inside the period, no more and none twice."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from console.figures import Figures
from console.models import DurationHistogram, DurationHistogramWeek
from console.queries import Period
from console.snapshots import rewrite_weeks
from tests import factories as f

FIRST = date(2026, 3, 2)  # a Monday
DAYS = 42
POST = DurationHistogram.Metric.POST_RESPONSE
ACCEPT = DurationHistogram.Metric.SERVICE_ACCEPT


def _day_rows(neighborhood, other) -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    rows = []
    for i in range(DAYS):
        day = FIRST + timedelta(days=i)
        # A bucket of its own per day (so a day counted twice or missed changes the answer) and
        # one shared by every day (so week sums really add).
        for bucket, count in ((i, i + 1), (300, 1)):
            rows.append(DurationHistogram(neighborhood=neighborhood, day=day, metric=POST, bucket=bucket, count=count, refreshed_at=at))
        rows.append(DurationHistogram(neighborhood=neighborhood, day=day, metric=ACCEPT, category_id=7, bucket=5, count=2, refreshed_at=at))
        rows.append(DurationHistogram(neighborhood=other, day=day, metric=POST, bucket=1, count=100, refreshed_at=at))
    DurationHistogram.objects.bulk_create(rows)


def _expected(neighborhood, start: date, end: date, metric: str) -> Counter:
    out: Counter = Counter()
    for r in DurationHistogram.objects.filter(neighborhood=neighborhood, metric=metric, day__gte=start, day__lte=end):
        out[r.bucket] += r.count
    return out


def _read(neighborhood, start: date, end: date, metric: str) -> Counter:
    out: Counter = Counter()
    figures = Figures([neighborhood.id], Period(start=start, end=end, granularity="week"))
    for r in figures._bucket_counts([metric], "neighborhood_id"):
        out[r["bucket"]] += r["n"]
    return out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (FIRST, FIRST + timedelta(days=DAYS - 1)),  # whole weeks only
        (FIRST + timedelta(days=3), FIRST + timedelta(days=30)),  # edges at both ends
        (FIRST + timedelta(days=1), FIRST + timedelta(days=5)),  # inside one week
        (FIRST + timedelta(days=6), FIRST + timedelta(days=7)),  # Sunday and Monday, no whole week
        (FIRST + timedelta(days=7), FIRST + timedelta(days=13)),  # exactly one week
        (FIRST - timedelta(days=10), FIRST + timedelta(days=9)),  # begins before the first row
    ],
)
def test_weeks_and_edge_days_count_exactly_the_days_of_the_period(start, end):
    neighborhood, other = f.NeighborhoodFactory(), f.NeighborhoodFactory()
    _day_rows(neighborhood, other)
    rewrite_weeks(FIRST, FIRST + timedelta(days=DAYS - 1), datetime.now(UTC))
    assert DurationHistogramWeek.objects.filter(neighborhood=neighborhood, metric=POST).exists()
    for metric in (POST, ACCEPT):
        assert _read(neighborhood, start, end, metric) == _expected(neighborhood, start, end, metric)


@pytest.mark.django_db
def test_a_rewrite_follows_changed_and_deleted_day_rows():
    neighborhood, other = f.NeighborhoodFactory(), f.NeighborhoodFactory()
    _day_rows(neighborhood, other)
    rewrite_weeks(FIRST, FIRST + timedelta(days=DAYS - 1), datetime.now(UTC))
    week = FIRST + timedelta(days=7)
    DurationHistogram.objects.filter(neighborhood=neighborhood, day=week + timedelta(days=2), bucket=9).delete()
    DurationHistogram.objects.filter(neighborhood=neighborhood, day=week, bucket=300).update(count=50)
    rewrite_weeks(week + timedelta(days=2), week + timedelta(days=2), datetime.now(UTC))
    rows = dict(DurationHistogramWeek.objects.filter(neighborhood=neighborhood, week=week, metric=POST).values_list("bucket", "count"))
    assert 9 not in rows and rows[300] == 50 + 6 and rows[7] == 8
    # Other weeks untouched.
    assert DurationHistogramWeek.objects.get(neighborhood=neighborhood, week=FIRST, metric=POST, bucket=300).count == 7
