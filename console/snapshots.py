"""Dashboard snapshots: fill `console.models`' snapshot tables from the apps' rows.

The refresh computes a window of days for every neighborhood at once, in a fixed number
of grouped queries (none per neighborhood or per day), and upserts: running it twice, or
two runs at once, leaves the same rows. One small function per thing it counts (coverage,
posts, topics, service requests, the duration histograms, closed loops, sensor alerts); each street also gets
rows that are its neighborhoods' sums. The dashboard reads them back through `console.figures.Figures`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from cases.models import Case
from console.durations import histogram
from console.models import (
    CaseDaySnapshot,
    DurationHistogram,
    DurationHistogramWeek,
    NeighborhoodDaySnapshot,
    SensorDaySnapshot,
    ServiceDaySnapshot,
)
from console.queries import Period, local_midnight, monday, resident_posts, was_overdue
from residents.models import Membership, Region, Role
from sensors.models import SensorCase

BATCH = 5000

# The counts of a NeighborhoodDaySnapshot (a street's row sums them) and of a ServiceDaySnapshot.
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
SERVICE_SUMS = ("requests", "completed", "overdue", "rated", "satisfied")
CASE_SUMS = ("finished", "closed_loops")
SENSOR_SUMS = ("alarms", "cases", "closed", "closed_in_time", "false_alarms")


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


@dataclass
class Snapshots:
    """A window's snapshot rows (unsaved), each street's sums included; `neighborhood_rows`
    counts the neighborhood-day rows among `rows`."""

    rows: list[NeighborhoodDaySnapshot]
    services: list[ServiceDaySnapshot]
    histograms: list[DurationHistogram]
    loops: list[CaseDaySnapshot]
    sensors: list[SensorDaySnapshot]
    neighborhood_rows: int

    def by_model(self) -> list[tuple[type, list]]:
        return [
            (NeighborhoodDaySnapshot, self.rows), (ServiceDaySnapshot, self.services), (DurationHistogram, self.histograms),
            (CaseDaySnapshot, self.loops), (SensorDaySnapshot, self.sensors),
        ]


def compute_snapshots(first: date, last: date, now: datetime) -> Snapshots:
    """The snapshot rows of every neighborhood for the days first..last (inclusive), and each
    street's rows as their sums: one grouped query per figure for the whole window. The refresh
    upserts them; the generator (bench/generate/snapshots.py) copies them into empty tables."""
    window = Period(start=first, end=last, granularity="week")
    neighborhood_ids = list(Region.objects.filter(level=Region.Level.NEIGHBORHOOD).values_list("pk", flat=True))
    rows = _neighborhood_days(neighborhood_ids, window, now)
    services = _service_days(window, now)
    histograms = [
        *_post_response_histograms(neighborhood_ids, window, now),
        *_service_histograms(window, now),
    ]
    loops = _case_days(window, now)
    sensors = _sensor_days(window, now)
    street_of = dict(Region.objects.filter(level=Region.Level.NEIGHBORHOOD).values_list("pk", "parent_id"))
    return Snapshots(
        rows=rows + _street_rollup(rows, street_of, ("day",), SNAPSHOT_SUMS, now),
        services=services + _street_rollup(services, street_of, ("day", "category_id"), SERVICE_SUMS, now),
        histograms=histograms
        + _street_rollup(histograms, street_of, ("day", "metric", "category_id", "bucket"), ("count",), now),
        loops=loops + _street_rollup(loops, street_of, ("day", "unit_id", "street_id"), CASE_SUMS, now),
        sensors=sensors + _street_rollup(sensors, street_of, ("day",), SENSOR_SUMS, now),
        neighborhood_rows=len(rows),
    )


def refresh_snapshots(first: date, last: date | None = None) -> int:
    """Recompute the snapshot rows of every neighborhood for the days first..last (inclusive),
    and each street's rows as their sums. Returns the number of neighborhood-day rows written."""
    last = last or first
    now = timezone.now()
    snapshots = compute_snapshots(first, last, now)
    _write(
        snapshots.rows, snapshots.services, snapshots.histograms, snapshots.loops, snapshots.sensors,
        window=Period(start=first, end=last, granularity="week"), now=now,
    )
    return snapshots.neighborhood_rows


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
        for r in histogram(answered, later="answered_at", earlier="created_at", group=["region_id", "day"])
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
            for r in histogram(queryset, later=later, earlier="created_at", group=group)
        ]
    return out


# 闭环: a matter case the resident confirmed (not closed by the 7-day job) whose answer came by
# its 办结 deadline; counted on the day it finished, beside every matter case finished that day
# (confirmed or closed; rejected ones are not finished work). Both statuses are final, so a
# finished day's rows change only when a case is deleted.
FINISHED = (Case.Status.CONFIRMED, Case.Status.CLOSED)
CLOSED_LOOP = Q(status=Case.Status.CONFIRMED, resolved_at__lte=F("resolve_due_at"))


def _case_days(window: Period, now: datetime) -> list[CaseDaySnapshot]:
    """Per neighborhood, day of finishing, unit holding the case (the one that answered) and
    street: matter cases finished, and closed loops among them."""
    return [
        CaseDaySnapshot(
            neighborhood_id=r["neighborhood_id"], day=r["day"], unit_id=r["unit_id"], street_id=r["street_id"],
            finished=r["finished"], closed_loops=r["loops"], refreshed_at=now,
        )
        for r in Case.objects.filter(
            kind="matter", status__in=FINISHED, finished_at__gte=window.start_at, finished_at__lt=window.end_at
        )
        .annotate(day=TruncDate("finished_at"))
        .values("neighborhood_id", "day", "unit_id", "street_id")
        .annotate(finished=Count("pk"), loops=Count("pk", filter=CLOSED_LOOP))
        .order_by()
    ]


def _sensor_days(window: Period, now: datetime) -> list[SensorDaySnapshot]:
    """Per neighborhood and day an alert opened: the alarms its alerts took in, the alerts
    (each one case), those closed with an outcome, closed within the case's 办结 deadline, and
    误报 among them."""
    closed = Q(is_open=False) & ~Q(outcome="")
    return [
        SensorDaySnapshot(
            neighborhood_id=r["device__region_id"], day=r["day"], alarms=r["alarms"], cases=r["cases"],
            closed=r["closed"], closed_in_time=r["in_time"], false_alarms=r["false_alarms"], refreshed_at=now,
        )
        for r in SensorCase.objects.filter(created_at__gte=window.start_at, created_at__lt=window.end_at)
        .annotate(day=TruncDate("created_at"))
        .values("device__region_id", "day")
        .annotate(
            alarms=Sum("alarm_count"), cases=Count("pk"), closed=Count("pk", filter=closed),
            in_time=Count("pk", filter=closed & Q(case__resolved_at__lte=F("case__resolve_due_at"))),
            false_alarms=Count("pk", filter=closed & Q(outcome=SensorCase.Outcome.FALSE_ALARM)),
        )
        .order_by()
    ]


def _write(
    rows: list[NeighborhoodDaySnapshot],
    services: list[ServiceDaySnapshot],
    histograms: list[DurationHistogram],
    loops: list[CaseDaySnapshot],
    sensors: list[SensorDaySnapshot],
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
        CaseDaySnapshot.objects.bulk_create(
            loops,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["neighborhood", "day", "unit", "street"],
            update_fields=[*CASE_SUMS, "refreshed_at"],
        )
        SensorDaySnapshot.objects.bulk_create(
            sensors,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["neighborhood", "day"],
            update_fields=[*SENSOR_SUMS, "refreshed_at"],
        )
        # Sparse rows this run did not write are gone from the source (a request deleted,
        # a duration moved bucket). A concurrent later run stamps a later time, so this
        # never deletes its rows.
        for model in (ServiceDaySnapshot, DurationHistogram, CaseDaySnapshot, SensorDaySnapshot):
            model.objects.filter(day__gte=window.start, day__lte=window.end, refreshed_at__lt=now).delete()
        rewrite_weeks(window.start, window.end, now)


def rewrite_weeks(first: date, last: date, now: datetime) -> None:
    """Recompute the week rows of the weeks holding first..last from their day rows as they now
    stand, and drop the week rows those weeks no longer have (stamped before `now`)."""
    first, last = monday(first), monday(last)
    DurationHistogramWeek.objects.bulk_create(
        [DurationHistogramWeek(**r, refreshed_at=now) for r in week_histogram_rows(first, last)],
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["neighborhood", "week", "metric", "category_id", "bucket"],
        update_fields=["count", "refreshed_at"],
    )
    DurationHistogramWeek.objects.filter(week__gte=first, week__lte=last, refreshed_at__lt=now).delete()


def week_histogram_rows(first: date, last: date):
    """The `DurationHistogramWeek` values of the weeks whose Mondays are first..last: their day
    rows summed, in one grouped query. The refresh upserts them; the generator copies them."""
    return (
        DurationHistogram.objects.filter(day__gte=first, day__lt=last + timedelta(days=7))
        .annotate(week=TruncWeek("day"))
        .values("neighborhood_id", "week", "metric", "category_id", "bucket")
        .annotate(n=Sum("count"))
        .values("neighborhood_id", "week", "metric", "category_id", "bucket", count=F("n"))
        .order_by()
    )




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
