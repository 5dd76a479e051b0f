"""The dashboard's figures from the snapshots equal the live computation over the raw rows
(console/queries.py) on a generated district, for a neighborhood, a street and the district;
and reading them costs the same number of queries for 5 or 50 neighborhoods."""

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console import queries
from console.durations import bucket_start_seconds, duration_bucket, median_from_buckets
from console.figures import Figures
from console.models import DurationHistogram, DurationHistogramWeek, NeighborhoodDaySnapshot
from console.snapshots import refresh_snapshots
from residents.models import Region
from tests import factories as f
from tests.console import reference
from tests.console.conftest import refresh_snapshots as refresh_recent

NOW = date(2026, 5, 1)


def _bucket_width_hours(live: timedelta) -> float:
    # The upper middle item of an even count may sit in a wider bucket than the median: take
    # the widest bucket up to twice the median.
    b = duration_bucket(2 * live.total_seconds())
    return (bucket_start_seconds(b + 1) - bucket_start_seconds(b)) / 3600 if b < 345 else float("inf")


def _close_median(snap: timedelta | None, live: timedelta | None) -> bool:
    if live is None or snap is None:
        return snap is live
    # Histogram medians are the lower bound of the middle bucket: never above, at most a bucket below.
    gap = (live - snap).total_seconds() / 3600
    return -1e-6 <= gap <= _bucket_width_hours(live) + 1e-6


def _close_hours(snap: float | None, live: float | None, live_exact: timedelta | None) -> bool:
    if live is None or snap is None:
        return snap is live
    return abs(live - snap) <= (_bucket_width_hours(live_exact or timedelta(hours=live)) + 0.1)


def _loops(rows) -> list:
    # Units of the same name tie in both orders (most loops first, then the name): compare as sorted.
    return sorted((r.name, r.finished, r.closed_loops) for r in rows)


def _assert_same(ids: list[int], period: queries.Period) -> None:
    figures = Figures(ids, period)
    assert figures.coverage() == reference.coverage(ids, until=period.end_at)
    assert figures.coverage_trend() == reference.coverage_trend(ids, period)
    assert figures.topic_funnel() == reference.topic_funnel(ids, period)
    assert figures.topic_trend() == reference.topic_trend(ids, period)
    assert figures.post_trend() == reference.post_trend(ids, period)
    assert figures.service_trend() == reference.service_trend(ids, period)

    for by in ("unit", "street"):
        assert _loops(figures.closed_loops(by)) == _loops(reference.closed_loops(ids, period, by)), by
    snap_posts, live_posts = figures.post_stats(), reference.post_stats(ids, period)
    assert {k: (v["posts"], v["answered"]) for k, v in snap_posts["per"].items()} == {
        k: (v["posts"], v["answered"]) for k, v in live_posts["per"].items()
    }
    assert _close_median(snap_posts["overall_median"], live_posts["overall_median"])
    for nid, live_median in live_posts["median"].items():
        assert _close_median(snap_posts["median"].get(nid), live_median), nid

    snap_services, live_services = figures.service_stats(), reference.service_stats(ids, period)
    exact = {"median_accept_hours", "median_complete_hours"}
    assert [{k: v for k, v in s.items() if k not in exact} for s in snap_services] == [
        {k: v for k, v in s.items() if k not in exact} for s in live_services
    ]
    for snap, live in zip(snap_services, live_services, strict=True):
        for key in exact:
            assert _close_hours(snap[key], live[key], None), (snap["category"], key, snap[key], live[key])


@pytest.mark.django_db
def test_snapshot_figures_equal_the_live_ones_for_a_neighborhood_a_street_and_the_district():
    call_command("generate_district", "--scale", "small", "--seed", "2", "--now", NOW.isoformat(), "--quiet")
    assert NeighborhoodDaySnapshot.objects.filter(day=NOW).exists()  # the generator backfilled
    district = Region.objects.get(level=Region.Level.DISTRICT)
    street = Region.objects.filter(level=Region.Level.STREET).order_by("code").first()
    neighborhoods = Region.objects.filter(level=Region.Level.NEIGHBORHOOD)
    busiest = max(neighborhoods, key=lambda n: n.posts.count() if hasattr(n, "posts") else 0)
    scopes = [
        [busiest.id],
        list(neighborhoods.filter(parent=street).values_list("id", flat=True)),
        list(neighborhoods.values_list("id", flat=True)),
    ]
    assert district and all(scopes)
    for period in (
        queries.make_period(NOW - timedelta(days=89), NOW),  # the default range, weekly
        queries.make_period(NOW - timedelta(days=800), NOW),  # monthly buckets
        queries.make_period(NOW - timedelta(days=20), NOW - timedelta(days=3)),  # ends before the last snapshot
    ):
        for ids in scopes:
            _assert_same(ids, period)
        if period.start < NOW - timedelta(days=100):  # the generator's matters finished: loops among them
            loops = Figures(scopes[-1], period).closed_loops("street")
            assert sum(r.finished for r in loops) > sum(r.closed_loops for r in loops) > 0
        _assert_streets_sum_their_neighborhoods(period)


def _assert_streets_sum_their_neighborhoods(period: queries.Period) -> None:
    """The district view reads each street's rolled-up rows: they must say what the
    neighborhoods' rows say together, figure for figure."""
    streets = list(Region.objects.filter(level=Region.Level.STREET).values_list("id", flat=True))
    neighborhoods = list(Region.objects.filter(level=Region.Level.NEIGHBORHOOD).values_list("id", "parent_id"))
    by_street, by_neighborhood = Figures(streets, period), Figures([n for n, _ in neighborhoods], period)
    for name in ("coverage_trend", "topic_funnel", "topic_trend", "post_trend", "service_trend", "service_stats"):
        assert getattr(by_street, name)() == getattr(by_neighborhood, name)(), name
    for by in ("unit", "street"):
        assert _loops(by_street.closed_loops(by)) == _loops(by_neighborhood.closed_loops(by)), by
    street_posts, neighborhood_posts = by_street.post_stats(), by_neighborhood.post_stats()
    assert street_posts["overall_median"] == neighborhood_posts["overall_median"]
    for street in streets:
        mine = [n for n, parent in neighborhoods if parent == street]
        expected = sum(neighborhood_posts["per"].get(n, {}).get("posts", 0) for n in mine)
        assert street_posts["per"].get(street, {}).get("posts", 0) == expected
        assert street_posts["median"].get(street) == Figures(mine, period).post_stats()["overall_median"]
    total = queries.coverage_total(by_street.coverage(), name="")
    expected_total = queries.coverage_total(by_neighborhood.coverage(), name="")
    for field in ("households", "population", "households_joined", "residents_joined", "party_members"):
        assert getattr(total, field) == getattr(expected_total, field), field


def test_refresh_is_idempotent_and_recomputes_a_day(neighborhood):
    from community.models import Post

    author = f.resident(neighborhood)
    refresh_recent()
    refresh_recent()  # twice: same rows, no conflict
    assert NeighborhoodDaySnapshot.objects.filter(neighborhood=neighborhood).count() == 7
    from django.utils import timezone

    now = timezone.now()
    Post.objects.create(
        region=neighborhood,
        author=author,
        section="neighbors",
        title="t",
        body="b",
        status="published",
        needs_answer=True,
        created_at=now,
        answered_at=now + timedelta(hours=3),
    )
    day = timezone.localdate()
    refresh_snapshots(day)
    row = NeighborhoodDaySnapshot.objects.get(neighborhood=neighborhood, day=day)
    assert (row.posts, row.posts_answered) == (1, 1)
    [h] = DurationHistogram.objects.filter(neighborhood=neighborhood, day=day)
    assert bucket_start_seconds(h.bucket) == 3 * 3600 and h.count == 1
    Post.objects.filter(region=neighborhood).update(answered_at=now + timedelta(hours=5))
    [w] = DurationHistogramWeek.objects.filter(neighborhood=neighborhood)
    assert (w.week, w.bucket, w.count) == (day - timedelta(days=day.weekday()), h.bucket, 1)
    refresh_snapshots(day)  # the old bucket row is gone, not added to
    [h] = DurationHistogram.objects.filter(neighborhood=neighborhood, day=day)
    assert bucket_start_seconds(h.bucket) == 5 * 3600
    # and so is its week's
    [w] = DurationHistogramWeek.objects.filter(neighborhood=neighborhood)
    assert (w.bucket, w.count) == (h.bucket, 1)


def test_median_from_buckets_matches_exact_values_on_bucket_bounds():
    counts: dict[int, int] = {}
    for hours in (1, 2, 9):
        b = duration_bucket(hours * 3600)
        counts[b] = counts.get(b, 0) + 1
    assert median_from_buckets(counts) == timedelta(hours=2)
    counts = {duration_bucket(h * 3600): 1 for h in (1, 3, 5, 7)}
    assert median_from_buckets(counts) == timedelta(hours=4)
    assert median_from_buckets({}) is None
    assert duration_bucket(100 * 86400) == 345 and duration_bucket(-5) == 0


def _dashboard_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_costs_the_same_for_5_and_50_neighborhoods(street, street_officer, console_for):
    client = console_for(street_officer)
    for _ in range(5):
        f.NeighborhoodFactory(parent=street)
    refresh_recent()
    url = f"/console/dashboard/?region={street.id}"
    few = _dashboard_queries(client, url)
    for _ in range(45):
        f.NeighborhoodFactory(parent=street)
    refresh_recent()
    assert NeighborhoodDaySnapshot.objects.filter(neighborhood__parent=street).count() >= 50 * 7
    assert _dashboard_queries(client, url) == few
