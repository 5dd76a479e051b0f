"""The dashboard's figures, read from the snapshots (console/snapshots.py fills them).

`Figures` answers every table and chart of the dashboard in a fixed number of queries whatever
the number of neighborhoods or days: one method per figure. They reproduce the live
computations over the apps' rows (test code: tests/console/reference.py) exactly, except
medians, which come from summed duration histograms (console/durations.py: at most one bucket
width low).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from django.db.models import Sum

from console.closed_loops import LoopRow
from console.durations import median_from_buckets
from console.models import (
    CaseDaySnapshot,
    DurationHistogram,
    DurationHistogramWeek,
    NeighborhoodDaySnapshot,
    SensorDaySnapshot,
    ServiceDaySnapshot,
)
from console.queries import CoverageRow, Period, bucket_label, hours, monday, ratio
from console.sensor_alarms import SensorRow
from console.snapshots import COVERAGE, DAILY, SENSOR_SUMS
from residents.models import Region


def _sum_fields(*names: str) -> dict:
    return {name: Sum(name) for name in names}


@dataclass
class Figures:
    """The dashboard's figures for neighborhoods over a period, from the snapshots: a fixed
    number of queries whatever the number of neighborhoods or days. `neighborhood_ids` may
    also be street ids, whose rows are their neighborhoods' sums (the district view)."""

    neighborhood_ids: list[int]
    period: Period
    unit: str = "居委/村"  # what one row of the per-region tables is

    def _rows(self, model=NeighborhoodDaySnapshot):
        return model.objects.filter(
            neighborhood_id__in=self.neighborhood_ids, day__gte=self.period.start, day__lte=self.period.end
        )

    @cached_property
    def as_of(self) -> tuple[date | None, datetime | None]:
        """The last snapshot day at or before the period's end, and when it was computed."""
        row = (
            NeighborhoodDaySnapshot.objects.filter(day__lte=self.period.end)
            .order_by("-day")
            .values("day", "refreshed_at")
            .first()
        )
        return (row["day"], row["refreshed_at"]) if row else (None, None)

    # Coverage ------------------------------------------------------------------------

    def coverage(self) -> list[CoverageRow]:
        day, _at = self.as_of
        regions = list(
            Region.objects.filter(pk__in=self.neighborhood_ids)
            .order_by("code")
            .values("id", "name", "households", "population", "registered_party_members", "level")
        )
        # A street's row (the district view) counts the households and residents of its neighborhoods.
        streets = [r["id"] for r in regions if r["level"] != Region.Level.NEIGHBORHOOD]
        if streets:
            sums = {
                r["parent_id"]: r
                for r in Region.objects.filter(level=Region.Level.NEIGHBORHOOD, parent_id__in=streets)
                .values("parent_id")
                .annotate(
                    households=Sum("households"),
                    population=Sum("population"),
                    registered_party_members=Sum("registered_party_members"),
                )
                .order_by()
            }
            for r in regions:
                if r["id"] in sums:
                    for name in ("households", "population", "registered_party_members"):
                        r[name] = sums[r["id"]][name] or 0
        snap = {
            r["neighborhood_id"]: r
            for r in NeighborhoodDaySnapshot.objects.filter(neighborhood_id__in=self.neighborhood_ids, day=day).values(
                "neighborhood_id", "households_joined", "residents_joined", "party_members"
            )
        }
        return [
            CoverageRow(
                neighborhood_id=r["id"],
                name=r["name"],
                households=r["households"],
                population=r["population"],
                households_joined=snap.get(r["id"], {}).get("households_joined", 0),
                residents_joined=snap.get(r["id"], {}).get("residents_joined", 0),
                party_members=snap.get(r["id"], {}).get("party_members", 0),
                party_registered=r["registered_party_members"],
            )
            for r in regions
        ]

    def coverage_trend(self) -> list[dict]:
        last_day, _at = self.as_of
        buckets = self.period.buckets()
        ends = [(label, (end - timedelta(days=1)).date()) for label, end in buckets]
        if last_day is not None:
            ends = [(label, min(d, last_day)) for label, d in ends]
        per_day = {
            r["day"]: r
            for r in NeighborhoodDaySnapshot.objects.filter(
                neighborhood_id__in=self.neighborhood_ids, day__in={d for _l, d in ends}
            )
            .values("day")
            .annotate(**_sum_fields(*COVERAGE))
            .order_by()
        }
        return [
            {
                "period": label,
                "households_joined": per_day.get(d, {}).get("households_joined") or 0,
                "residents_joined": per_day.get(d, {}).get("residents_joined") or 0,
                "party_members": per_day.get(d, {}).get("party_members") or 0,
            }
            for label, d in ends
        ]

    # Daily counts (posts, topics) ----------------------------------------------------------

    @cached_property
    def _daily(self) -> list[dict]:
        return list(self._rows().values("day").annotate(**_sum_fields(*DAILY)).order_by("day"))

    def _bucketed(self, rows: list[dict], fields: tuple[str, ...], keep: str) -> list[dict]:
        out: dict[str, dict] = {}
        for r in rows:
            label = bucket_label(self.period, _bucket_start(self.period, r["day"]))
            acc = out.setdefault(label, dict.fromkeys(fields, 0))
            for name in fields:
                acc[name] += r[name] or 0
        return [{"period": label, **acc} for label, acc in out.items() if acc[keep]]

    def post_trend(self) -> list[dict]:
        return [
            {"period": t["period"], "posts": t["posts"], "answered": t["posts_answered"]}
            for t in self._bucketed(self._daily, ("posts", "posts_answered"), "posts")
        ]

    def topic_trend(self) -> list[dict]:
        return [
            {"period": t["period"], "proposed": t["topics_proposed"], "passed": t["topics_passed"]}
            for t in self._bucketed(self._daily, ("topics_proposed", "topics_passed"), "topics_proposed")
        ]

    def topic_funnel(self) -> dict[str, int]:
        keys = ("proposed", "discussed", "voted", "passed", "implemented", "evaluated")
        return {k: sum(r[f"topics_{k}"] or 0 for r in self._daily) for k in keys}

    def post_stats(self) -> dict:
        per = {
            r["neighborhood_id"]: {"region_id": r["neighborhood_id"], "posts": r["posts"], "answered": r["answered"]}
            for r in self._rows()
            .values("neighborhood_id")
            .annotate(posts=Sum("posts"), answered=Sum("posts_answered"))
            .filter(posts__gt=0)
            .order_by()
        }
        by_region: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        overall: dict[int, int] = defaultdict(int)
        for r in self._bucket_counts([DurationHistogram.Metric.POST_RESPONSE], "neighborhood_id"):
            by_region[r["neighborhood_id"]][r["bucket"]] += r["n"]
            overall[r["bucket"]] += r["n"]
        return {
            "per": per,
            "median": {nid: median_from_buckets(counts) for nid, counts in by_region.items()},
            "overall_median": median_from_buckets(overall),
        }

    def _bucket_counts(self, metrics: list[str], *group: str) -> list[dict]:
        """Bucket counts (`n`) per `group` and bucket over the period, in one statement: the whole
        weeks' rows of DurationHistogramWeek and the edge days' rows of DurationHistogram. A
        (group, bucket) may come in up to three rows (edge days, weeks, edge days): callers add."""
        start, end = self.period.start, self.period.end
        first_monday = monday(start + timedelta(days=6))  # the first week that starts in the period
        last_sunday = monday(end + timedelta(days=1)) - timedelta(days=1)  # the last that ends in it
        regions = {"neighborhood_id__in": self.neighborhood_ids, "metric__in": metrics}
        day_ranges = [(start, end)]
        parts = []
        if first_monday + timedelta(days=6) <= last_sunday:
            day_ranges = [(start, first_monday - timedelta(days=1)), (last_sunday + timedelta(days=1), end)]
            weeks = DurationHistogramWeek.objects.filter(
                **regions, week__gte=first_monday, week__lte=last_sunday - timedelta(days=6)
            )
            parts.append(weeks)
        # One contiguous day range per part, so each is a range scan of the region index.
        parts += [DurationHistogram.objects.filter(**regions, day__gte=a, day__lte=b) for a, b in day_ranges if a <= b]
        grouped = [part.values(*group, "bucket").annotate(n=Sum("count")).order_by() for part in parts]
        return list(grouped[0].union(*grouped[1:], all=True)) if len(grouped) > 1 else list(grouped[0])

    # Services -----------------------------------------------------------------------------

    def service_stats(self) -> list[dict]:
        from services.models import ServiceCategory

        counts = {
            r["category_id"]: r
            for r in self._rows(ServiceDaySnapshot)
            .values("category_id")
            .annotate(**_sum_fields("requests", "completed", "overdue", "rated", "satisfied"))
            .order_by()
        }
        buckets: dict[tuple[str, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for r in self._bucket_counts(
            [DurationHistogram.Metric.SERVICE_ACCEPT, DurationHistogram.Metric.SERVICE_COMPLETE], "metric", "category_id"
        ):
            buckets[(r["metric"], r["category_id"])][r["bucket"]] += r["n"]
        names = dict(ServiceCategory.objects.filter(pk__in=list(counts)).values_list("pk", "name"))
        out = []
        for category_id, c in sorted(counts.items(), key=lambda kv: (-kv[1]["requests"], kv[0])):
            accept = buckets.get((DurationHistogram.Metric.SERVICE_ACCEPT, category_id))
            complete = buckets.get((DurationHistogram.Metric.SERVICE_COMPLETE, category_id))
            out.append(
                {
                    "category": names.get(category_id, "—"),
                    "requests": c["requests"],
                    "completed": c["completed"],
                    "median_accept_hours": hours(median_from_buckets(accept)) if accept else None,
                    "median_complete_hours": hours(median_from_buckets(complete)) if complete else None,
                    "overdue": c["overdue"],
                    "overdue_rate": ratio(c["overdue"], c["requests"]),
                    "rated": c["rated"],
                    "satisfied": c["satisfied"],
                    "satisfaction_rate": ratio(c["satisfied"], c["rated"]),
                }
            )
        return out

    def service_trend(self) -> list[dict]:
        daily = list(
            self._rows(ServiceDaySnapshot)
            .values("day")
            .annotate(**_sum_fields("requests", "overdue", "rated", "satisfied"))
            .order_by("day")
        )
        return [
            {
                "period": t["period"],
                "requests": t["requests"],
                "overdue_rate": ratio(t["overdue"], t["requests"]),
                "satisfaction_rate": ratio(t["satisfied"], t["rated"]),
            }
            for t in self._bucketed(daily, ("requests", "overdue", "rated", "satisfied"), "requests")
        ]

    # Closed loops (诉求闭环) ------------------------------------------------------------------

    def closed_loops(self, by: str) -> list[LoopRow]:
        """Matters finished and closed loops per responsible unit (`by="unit"`) or street
        (`by="street"`), most loops first (console/closed_loops.py)."""
        name = f"{by}__name"
        return [
            LoopRow(r[name], r["finished"], r["loops"])
            for r in self._rows(CaseDaySnapshot)
            .values(f"{by}_id", name)
            .annotate(finished=Sum("finished"), loops=Sum("closed_loops"))
            .order_by("-loops", name)
        ]

    # 物联告警 (sensor alerts) ----------------------------------------------------------------

    def sensor_alarms(self) -> list[SensorRow]:
        """Per region of the view (neighborhoods, or streets in the district view) with an alert
        in the period: alarms → cases → closed (in time), and 误报 (console/sensor_alarms.py)."""
        rows = {
            r["neighborhood_id"]: r
            for r in self._rows(SensorDaySnapshot).values("neighborhood_id").annotate(**_sum_fields(*SENSOR_SUMS)).order_by()
        }
        names = dict(Region.objects.filter(pk__in=rows).values_list("pk", "name"))
        return sorted(
            (SensorRow(names[pk], *(r[k] for k in SENSOR_SUMS)) for pk, r in rows.items()),
            key=lambda row: (-row.alarms, row.name),
        )


def _bucket_start(period: Period, day: date) -> date:
    return monday(day) if period.granularity == "week" else day.replace(day=1)
