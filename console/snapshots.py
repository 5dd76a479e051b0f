"""Dashboard snapshots: fill `console.models.*Snapshot` from the apps' rows (refresh) and
read the dashboard's figures back from them (Figures).

The refresh computes a window of days for every neighborhood at once, in a fixed number
of grouped queries (none per neighborhood or per day), and upserts: running it twice, or
two runs at once, leaves the same rows. Figures reproduce the live computations (test
code: tests/console/reference.py) exactly, except medians, which come from summed duration
histograms (see `duration_bucket`: each middle item is read as its bucket's lower bound, so
a median is at most one bucket width low: 6 minutes up to a day, 1 hour up to 3 days, 1 day
beyond).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Floor, Round, TruncDate
from django.utils import timezone

from console.models import DurationHistogram, NeighborhoodDaySnapshot, ServiceDaySnapshot
from console.queries import (
    CoverageRow,
    Period,
    bucket_label,
    hours,
    local_midnight,
    ratio,
    resident_posts,
    was_overdue,
)
from residents.models import Membership, Region, Role

BATCH = 5000

# --- Duration buckets ------------------------------------------------------------------
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


def _histogram(queryset, *, later: str, earlier: str, group: list[str]) -> list[dict]:
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


# --- Refresh ---------------------------------------------------------------------------


def _day(value) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else timezone.localdate(value)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _cumulative_joins(first: date, last: date, *, field: str, extra: Q) -> dict[tuple[int, date], int]:
    """Distinct `field` values with an approved membership decided by the end of each day."""
    start_at = local_midnight(first)
    approved = Membership.objects.filter(extra, status=Membership.Status.APPROVED, decided_at__isnull=False)
    base = dict(
        approved.filter(decided_at__lt=start_at)
        .values("neighborhood_id")
        .annotate(n=Count(field, distinct=True))
        .order_by()
        .values_list("neighborhood_id", "n")
    )
    # A value counts from the day of its first approved membership: only those first seen
    # inside the window leave the database.
    new: dict[tuple[int, date], int] = defaultdict(int)
    for row in (
        approved.values("neighborhood_id", field)
        .annotate(first=Min("decided_at"))
        .filter(first__gte=start_at, first__lt=local_midnight(last + timedelta(days=1)))
        .values("neighborhood_id", "first")
    ):
        new[(row["neighborhood_id"], _day(row["first"]))] += 1
    out: dict[tuple[int, date], int] = {}
    for nid in {*base, *(k[0] for k in new)}:
        running = base.get(nid, 0)
        for d in _days(first, last):
            running += new.get((nid, d), 0)
            out[(nid, d)] = running
    return out


def _party_members(first: date, last: date) -> dict[tuple[int, date], int]:
    """Distinct users with an active party-member role at the end of each day: active on
    day D when granted by the end of D and not revoked by then, i.e. granted_day ≤ D < revoked_day."""
    end_at = local_midnight(last + timedelta(days=1))
    spans: dict[tuple[int, int], list[tuple[date, date]]] = defaultdict(list)
    for region_id, user_id, granted, revoked in (
        Role.objects.filter(kind=Role.Kind.PARTY_MEMBER, granted_at__lt=end_at)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gte=local_midnight(first)))
        .values_list("region_id", "user_id", "granted_at", "revoked_at")
    ):
        stop = _day(revoked) if revoked else last + timedelta(days=1)
        spans[(region_id, user_id)].append((max(_day(granted), first), min(stop, last + timedelta(days=1))))
    n_days = (last - first).days + 1
    diff: dict[int, list[int]] = defaultdict(lambda: [0] * (n_days + 1))
    for (region_id, _user), intervals in spans.items():
        intervals.sort()
        merged: list[list[date]] = []
        for a, b in intervals:
            if a >= b:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        for a, b in merged:
            diff[region_id][(a - first).days] += 1
            diff[region_id][(b - first).days] -= 1
    out: dict[tuple[int, date], int] = {}
    for region_id, deltas in diff.items():
        running = 0
        for i, d in enumerate(_days(first, last)):
            running += deltas[i]
            out[(region_id, d)] = running
    return out


def refresh_snapshots(first: date, last: date | None = None) -> int:
    """Recompute the snapshot rows of every neighborhood for the days first..last (inclusive),
    and each street's rows as their sums. Returns the number of neighborhood-day rows written."""
    last = last or first
    now = timezone.now()
    window = Period(start=first, end=last, granularity="week")
    neighborhood_ids = list(Region.objects.filter(level=Region.Level.NEIGHBORHOOD).values_list("pk", flat=True))
    rows = _neighborhood_days(neighborhood_ids, window, now)
    services = _service_days(window, now)
    histograms = [
        *_post_response_histograms(neighborhood_ids, window, now),
        *_service_histograms(window, now),
    ]
    street_of = dict(Region.objects.filter(level=Region.Level.NEIGHBORHOOD).values_list("pk", "parent_id"))
    _write(
        rows + _street_rollup(rows, street_of, ("day",), SNAPSHOT_SUMS, now),
        services + _street_rollup(services, street_of, ("day", "category_id"), SERVICE_SUMS, now),
        histograms + _street_rollup(histograms, street_of, ("day", "metric", "category_id", "bucket"), ("count",), now),
        window=window,
        now=now,
    )
    return len(rows)


def _neighborhood_days(neighborhood_ids: list[int], window: Period, now: datetime) -> list[NeighborhoodDaySnapshot]:
    """One NeighborhoodDaySnapshot per neighborhood and day of the window, zeros included (the
    coverage figures are cumulative: a day with no change still carries them)."""
    first, last = window.start, window.end
    households = _cumulative_joins(first, last, field="household_key", extra=~Q(household_key=""))
    residents = _cumulative_joins(first, last, field="user_id", extra=Q())
    party = _party_members(first, last)
    posts = _post_days(neighborhood_ids, window)
    topics = _topic_days(window)
    return [
        NeighborhoodDaySnapshot(
            neighborhood_id=nid,
            day=d,
            households_joined=households.get((nid, d), 0),
            residents_joined=residents.get((nid, d), 0),
            party_members=party.get((nid, d), 0),
            **posts.get((nid, d), _NO_POSTS),
            **topics.get((nid, d), _NO_TOPICS),
            refreshed_at=now,
        )
        for nid in neighborhood_ids
        for d in _days(first, last)
    ]


_NO_POSTS = {"posts": 0, "posts_answered": 0}


def _resident_posts_by_day(neighborhood_ids: list[int], window: Period):
    return resident_posts(neighborhood_ids, window).annotate(day=TruncDate("created_at"))


def _post_days(neighborhood_ids: list[int], window: Period) -> dict[tuple[int, date], dict[str, int]]:
    """Resident posts (发帖必响应) made on each day, and how many of them are answered."""
    return {
        (r["region_id"], r["day"]): {"posts": r["posts"], "posts_answered": r["answered"]}
        for r in _resident_posts_by_day(neighborhood_ids, window)
        .values("region_id", "day")
        .annotate(posts=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
        .order_by()
    }


def _post_response_histograms(neighborhood_ids: list[int], window: Period, now: datetime) -> list[DurationHistogram]:
    """How long the answered posts of each day waited for their answer, as bucket counts."""
    answered = _resident_posts_by_day(neighborhood_ids, window).filter(answered_at__isnull=False)
    return [
        DurationHistogram(
            neighborhood_id=r["region_id"],
            day=r["day"],
            metric=DurationHistogram.Metric.POST_RESPONSE,
            category_id=0,
            bucket=r["_b"],
            count=r["n"],
            refreshed_at=now,
        )
        for r in _histogram(answered, later="answered_at", earlier="created_at", group=["region_id", "day"])
    ]


_NO_TOPICS = {
    "topics_proposed": 0, "topics_discussed": 0, "topics_voted": 0,
    "topics_passed": 0, "topics_implemented": 0, "topics_evaluated": 0,
}


def _topic_days(window: Period) -> dict[tuple[int, date], dict[str, int]]:
    """Topics proposed on each day (merged ones left out), how many passed, and how many of
    them reached discussion, voting, implementation and evaluation (from the stage log)."""
    from deliberation.models import Topic, TopicEvent

    topics = Topic.objects.filter(created_at__gte=window.start_at, created_at__lt=window.end_at).exclude(
        status=Topic.Status.MERGED
    )
    out: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: dict(_NO_TOPICS))
    for r in (
        topics.annotate(day=TruncDate("created_at"))
        .values("neighborhood_id", "day")
        .annotate(proposed=Count("pk"), passed=Count("pk", filter=Q(outcome=Topic.Outcome.PASSED)))
        .order_by()
    ):
        out[(r["neighborhood_id"], r["day"])].update(topics_proposed=r["proposed"], topics_passed=r["passed"])
    reached_field = {
        Topic.Status.DISCUSSING: "topics_discussed",
        Topic.Status.VOTING: "topics_voted",
        Topic.Status.IMPLEMENTING: "topics_implemented",
        Topic.Status.EVALUATING: "topics_evaluated",
    }
    for r in (
        TopicEvent.objects.filter(topic__in=topics, to_status__in=list(reached_field))
        .annotate(day=TruncDate("topic__created_at"))
        .values("topic__neighborhood_id", "day", "to_status")
        .annotate(n=Count("topic_id", distinct=True))
        .order_by()
    ):
        out[(r["topic__neighborhood_id"], r["day"])][reached_field[r["to_status"]]] = r["n"]
    return dict(out)


def _service_requests_by_day(window: Period):
    from services.models import ServiceRequest

    return ServiceRequest.objects.filter(created_at__gte=window.start_at, created_at__lt=window.end_at).annotate(
        day=TruncDate("created_at")
    )


def _service_days(window: Period, now: datetime) -> list[ServiceDaySnapshot]:
    """Per neighborhood, day and category: requests asked, completed, ever overdue, rated,
    and rated satisfied."""
    from services.models import ServiceRating, ServiceRequest

    return [
        ServiceDaySnapshot(
            neighborhood_id=r["neighborhood_id"],
            day=r["day"],
            category_id=r["item__category_id"] or 0,
            requests=r["requests"],
            completed=r["completed"],
            overdue=r["overdue"],
            rated=r["rated"],
            satisfied=r["satisfied"],
            refreshed_at=now,
        )
        for r in _service_requests_by_day(window)
        .values("neighborhood_id", "day", "item__category_id")
        .annotate(
            requests=Count("pk", filter=ServiceRequest.asked()),
            completed=Count("pk", filter=Q(completed_at__isnull=False)),
            overdue=Count("pk", filter=was_overdue(now)),
            rated=Count("rating"),
            satisfied=Count("rating", filter=Q(rating__score__gte=ServiceRating.SATISFIED_FROM)),
        )
        .order_by()
    ]


def _service_histograms(window: Period, now: datetime) -> list[DurationHistogram]:
    """How long the requests of each day waited to be first accepted, and to be completed."""
    from services.models import ServiceRequest, ServiceRequestEvent

    requests = _service_requests_by_day(window)
    first_accept = (
        ServiceRequestEvent.objects.filter(request=OuterRef("pk"), to_status=ServiceRequest.Status.ACCEPTED)
        .order_by()
        .values("request")
        .annotate(at=Min("created_at"))
        .values("at")[:1]
    )
    group = ["neighborhood_id", "day", "item__category_id"]
    out: list[DurationHistogram] = []
    for metric, queryset, later in (
        (
            DurationHistogram.Metric.SERVICE_ACCEPT,
            requests.annotate(accepted_at=Subquery(first_accept)).filter(accepted_at__isnull=False),
            "accepted_at",
        ),
        (DurationHistogram.Metric.SERVICE_COMPLETE, requests.filter(completed_at__isnull=False), "completed_at"),
    ):
        out += [
            DurationHistogram(
                neighborhood_id=r["neighborhood_id"],
                day=r["day"],
                metric=metric,
                category_id=r["item__category_id"] or 0,
                bucket=r["_b"],
                count=r["n"],
                refreshed_at=now,
            )
            for r in _histogram(queryset, later=later, earlier="created_at", group=group)
        ]
    return out


def _write(
    rows: list[NeighborhoodDaySnapshot],
    services: list[ServiceDaySnapshot],
    histograms: list[DurationHistogram],
    *,
    window: Period,
    now: datetime,
) -> None:
    """Upsert the window's rows in one transaction and drop the sparse rows it no longer has."""
    snapshot_fields = [
        f.name for f in NeighborhoodDaySnapshot._meta.concrete_fields if f.name not in ("id", "neighborhood", "day")
    ]
    with transaction.atomic():
        NeighborhoodDaySnapshot.objects.bulk_create(
            rows,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["neighborhood", "day"],
            update_fields=snapshot_fields,
        )
        ServiceDaySnapshot.objects.bulk_create(
            services,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["neighborhood", "day", "category_id"],
            update_fields=[*SERVICE_SUMS, "refreshed_at"],
        )
        DurationHistogram.objects.bulk_create(
            histograms,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["neighborhood", "day", "metric", "category_id", "bucket"],
            update_fields=["count", "refreshed_at"],
        )
        # Sparse rows this run did not write are gone from the source (a request deleted,
        # a duration moved bucket). A concurrent later run stamps a later time, so this
        # never deletes its rows.
        for model in (ServiceDaySnapshot, DurationHistogram):
            model.objects.filter(day__gte=window.start, day__lte=window.end, refreshed_at__lt=now).delete()


SERVICE_SUMS = ("requests", "completed", "overdue", "rated", "satisfied")


def _street_rollup(items: list, street_of: dict[int, int | None], keys: tuple[str, ...], sums: tuple[str, ...], now):
    """Each street's rows: the sum of its neighborhoods' rows, stored under the street's id.

    The district dashboard reads 12 streets' rows instead of 550 neighborhoods' (bench/README.md:
    the district view was 0.5 s of GROUP BYs and a 550-row page). Every figure is a sum
    (coverage is cumulative per day; medians come from summed bucket counts), so a street's
    row says exactly what its neighborhoods' rows say together."""
    if not items:
        return []
    model = type(items[0])
    totals: dict[tuple, dict[str, int]] = {}
    for item in items:
        street = street_of.get(item.neighborhood_id)
        if street is None:
            continue
        acc = totals.setdefault((street, *(getattr(item, k) for k in keys)), dict.fromkeys(sums, 0))
        for name in sums:
            acc[name] += getattr(item, name)
    return [
        model(neighborhood_id=key[0], **dict(zip(keys, key[1:], strict=True)), **acc, refreshed_at=now)
        for key, acc in totals.items()
    ]


def refresh_since(since: date, until: date | None = None, *, chunk_days: int = 31, progress=None) -> int:
    """Backfill day by day in chunks (memory stays bounded at district scale)."""
    until = until or timezone.localdate()
    written = 0
    cursor = since
    while cursor <= until:
        last = min(cursor + timedelta(days=chunk_days - 1), until)
        written += refresh_snapshots(cursor, last)
        if progress:
            progress(cursor, last)
        cursor = last + timedelta(days=1)
    return written


# --- Reads -----------------------------------------------------------------------------


def _sum_fields(*names: str) -> dict:
    return {name: Sum(name) for name in names}


DAILY = (
    "posts",
    "posts_answered",
    "topics_proposed",
    "topics_discussed",
    "topics_voted",
    "topics_passed",
    "topics_implemented",
    "topics_evaluated",
)
COVERAGE = ("households_joined", "residents_joined", "party_members")  # cumulative as of each day
SNAPSHOT_SUMS = (*COVERAGE, *DAILY)  # every count of a NeighborhoodDaySnapshot: a street's row sums them


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
        for r in self._histogram(DurationHistogram.Metric.POST_RESPONSE, "neighborhood_id"):
            by_region[r["neighborhood_id"]][r["bucket"]] += r["n"]
            overall[r["bucket"]] += r["n"]
        return {
            "per": per,
            "median": {nid: median_from_buckets(counts) for nid, counts in by_region.items()},
            "overall_median": median_from_buckets(overall),
        }

    def _histogram(self, metric: str, group: str) -> list[dict]:
        return list(
            self._rows(DurationHistogram)
            .filter(metric=metric)
            .values(group, "bucket")
            .annotate(n=Sum("count"))
            .order_by()
        )

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
        for r in (
            self._rows(DurationHistogram)
            .filter(metric__in=[DurationHistogram.Metric.SERVICE_ACCEPT, DurationHistogram.Metric.SERVICE_COMPLETE])
            .values("metric", "category_id", "bucket")
            .annotate(n=Sum("count"))
            .order_by()
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


def _bucket_start(period: Period, day: date) -> date:
    return day - timedelta(days=day.weekday()) if period.granularity == "week" else day.replace(day=1)


__all__ = ["Figures", "refresh_snapshots", "refresh_since", "median_from_buckets", "duration_bucket"]
