"""The dashboard's figures computed live from the apps' rows: the reference the snapshot
figures (console.figures.Figures, what the console shows) are checked against
(tests/console/test_dashboard_snapshots.py), itself checked against rows the tests make
(tests/console/test_dashboard_apps.py, test_dashboard_coverage.py).

The console never calls these: at district scale they are a full scan per request. They are
one GROUP BY (or one row of conditional aggregates) per figure, with no loop over rows in
Python, and read the same row rules the snapshot refresh reads (`console.queries.resident_posts`,
`console.queries.was_overdue`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from console.closed_loops import LoopRow
from console.queries import CoverageRow, Period, bucket_label, hours, ratio, resident_posts, was_overdue
from residents.models import Membership, Region, Role

# --- Coverage ---------------------------------------------------------------------


def approved_by(at: datetime) -> Q:
    # Coverage as of a moment: approved memberships decided before it. A membership that
    # was approved and later left is not counted at all (the current status is what we
    # keep; there is no membership history table).
    return Q(status=Membership.Status.APPROVED, decided_at__lt=at)


def coverage(neighborhood_ids: list[int], *, until: datetime) -> list[CoverageRow]:
    """Households and residents joined per neighborhood, as of `until` (two GROUP BYs)."""
    regions = (
        Region.objects.filter(pk__in=neighborhood_ids)
        .order_by("code")
        .values("id", "name", "households", "population", "registered_party_members")
    )
    joined = {
        row["neighborhood_id"]: row
        for row in Membership.objects.filter(approved_by(until), neighborhood_id__in=neighborhood_ids)
        .values("neighborhood_id")
        .annotate(
            households_joined=Count("household_key", distinct=True, filter=~Q(household_key="")),
            residents_joined=Count("user_id", distinct=True),
        )
        .order_by()
    }
    party = dict(
        Role.objects.filter(party_active_at(until), region_id__in=neighborhood_ids)
        .values("region_id")
        .annotate(n=Count("user_id", distinct=True))
        .order_by()
        .values_list("region_id", "n")
    )
    return [
        CoverageRow(
            neighborhood_id=r["id"],
            name=r["name"],
            households=r["households"],
            population=r["population"],
            households_joined=joined.get(r["id"], {}).get("households_joined", 0),
            residents_joined=joined.get(r["id"], {}).get("residents_joined", 0),
            party_members=party.get(r["id"], 0),
            party_registered=r["registered_party_members"],
        )
        for r in regions
    ]


def party_active_at(at: datetime) -> Q:
    return Q(kind=Role.Kind.PARTY_MEMBER, granted_at__lt=at) & (Q(revoked_at__isnull=True) | Q(revoked_at__gte=at))


def coverage_trend(neighborhood_ids: list[int], period: Period) -> list[dict]:
    """Households, residents and party members joined at the end of each bucket: one query each."""
    buckets = period.buckets()
    base = Membership.objects.filter(neighborhood_id__in=neighborhood_ids)
    member_aggs = {}
    for i, (_label, end) in enumerate(buckets):
        member_aggs[f"h{i}"] = Count(
            "household_key",
            distinct=True,
            filter=approved_by(end) & ~Q(household_key=""),
        )
        member_aggs[f"r{i}"] = Count("user_id", distinct=True, filter=approved_by(end))
    members = base.aggregate(**member_aggs) if buckets else {}
    party_aggs = {
        f"p{i}": Count("user_id", distinct=True, filter=party_active_at(end)) for i, (_l, end) in enumerate(buckets)
    }
    party = Role.objects.filter(region_id__in=neighborhood_ids).aggregate(**party_aggs) if buckets else {}
    return [
        {
            "period": label,
            "households_joined": members[f"h{i}"],
            "residents_joined": members[f"r{i}"],
            "party_members": party[f"p{i}"],
        }
        for i, (label, _end) in enumerate(buckets)
    ]


def medians(queryset, *, duration, group: str | None = None) -> dict:
    """Median of a duration expression per group, in SQL: number the rows per group by the
    duration (window functions, on SQLite and PostgreSQL alike) and keep the one or two
    middle rows; at most two rows per group leave the database."""
    from django.db.models import DurationField, ExpressionWrapper, F, Window
    from django.db.models.functions import RowNumber

    partition = [F(group)] if group else []
    rows = (
        queryset.annotate(_d=ExpressionWrapper(duration, output_field=DurationField()))
        .filter(_d__isnull=False)
        .annotate(
            _rn=Window(RowNumber(), partition_by=partition, order_by=F("_d").asc()),
            _n=Window(Count("pk"), partition_by=partition),
        )
        # Integer division picks row (n+1)/2 and (n+2)/2: one row for odd n, two for even.
        .filter(Q(_rn=(F("_n") + 1) / 2) | Q(_rn=(F("_n") + 2) / 2))
        .values(*([group] if group else []), "_d")
    )
    found: dict = {}
    for row in rows:
        found.setdefault(row[group] if group else None, []).append(row["_d"])
    return {key: sum(values, timedelta()) / len(values) for key, values in found.items()}


def trunc_for(period: Period, field: str):
    from django.db.models.functions import TruncMonth, TruncWeek

    tz = ZoneInfo(settings.TIME_ZONE)
    return TruncWeek(field, tzinfo=tz) if period.granularity == "week" else TruncMonth(field, tzinfo=tz)


def post_stats(neighborhood_ids: list[int], period: Period) -> dict:
    """Per neighborhood: resident posts, answered, share answered, median response time."""
    from django.db.models import F

    posts = resident_posts(neighborhood_ids, period)
    per = {
        r["region_id"]: r
        for r in posts.values("region_id")
        .annotate(posts=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
        .order_by()
    }
    answered = posts.filter(answered_at__isnull=False)
    med = medians(answered, duration=F("answered_at") - F("created_at"), group="region_id")
    overall_med = medians(answered, duration=F("answered_at") - F("created_at")).get(None)
    return {"per": per, "median": med, "overall_median": overall_med}


def post_trend(neighborhood_ids: list[int], period: Period) -> list[dict]:
    rows = (
        resident_posts(neighborhood_ids, period)
        .annotate(bucket=trunc_for(period, "created_at"))
        .values("bucket")
        .annotate(posts=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
        .order_by("bucket")
    )
    return [{"period": bucket_label(period, r["bucket"]), "posts": r["posts"], "answered": r["answered"]} for r in rows]


def topic_funnel(neighborhood_ids: list[int], period: Period) -> dict[str, int]:
    """Topics proposed in the period and how far they got: two GROUP BY queries over the stage log."""
    from deliberation.models import Topic, TopicEvent

    topics = Topic.objects.filter(
        neighborhood_id__in=neighborhood_ids, created_at__gte=period.start_at, created_at__lt=period.end_at
    ).exclude(status=Topic.Status.MERGED)
    head = topics.aggregate(proposed=Count("pk"), passed=Count("pk", filter=Q(outcome=Topic.Outcome.PASSED)))
    reached = dict(
        TopicEvent.objects.filter(topic__in=topics)
        .values("to_status")
        .annotate(n=Count("topic_id", distinct=True))
        .order_by()
        .values_list("to_status", "n")
    )
    S = Topic.Status
    return {
        "proposed": head["proposed"],
        "discussed": reached.get(S.DISCUSSING, 0),
        "voted": reached.get(S.VOTING, 0),
        "passed": head["passed"],
        "implemented": reached.get(S.IMPLEMENTING, 0),
        "evaluated": reached.get(S.EVALUATING, 0),
    }


def topic_trend(neighborhood_ids: list[int], period: Period) -> list[dict]:
    from deliberation.models import Topic

    rows = (
        Topic.objects.filter(
            neighborhood_id__in=neighborhood_ids, created_at__gte=period.start_at, created_at__lt=period.end_at
        )
        .exclude(status=Topic.Status.MERGED)
        .annotate(bucket=trunc_for(period, "created_at"))
        .values("bucket")
        .annotate(proposed=Count("pk"), passed=Count("pk", filter=Q(outcome=Topic.Outcome.PASSED)))
        .order_by("bucket")
    )
    return [
        {"period": bucket_label(period, r["bucket"]), "proposed": r["proposed"], "passed": r["passed"]} for r in rows
    ]


def service_requests_in(neighborhood_ids: list[int], period: Period):
    from services.models import ServiceRequest

    return ServiceRequest.objects.filter(
        neighborhood_id__in=neighborhood_ids, created_at__gte=period.start_at, created_at__lt=period.end_at
    )


def service_stats(neighborhood_ids: list[int], period: Period) -> list[dict]:
    """Per category: requests, median accept and completion time, overdue and satisfaction rates."""
    from django.db.models import F, Min, OuterRef, Subquery

    from services.models import ServiceCategory, ServiceRating, ServiceRequest, ServiceRequestEvent

    now = timezone.now()
    requests = service_requests_in(neighborhood_ids, period)
    counts = {
        r["item__category_id"]: r
        for r in requests.values("item__category_id")
        .annotate(
            requests=Count("pk", filter=ServiceRequest.asked()),
            completed=Count("pk", filter=Q(completed_at__isnull=False)),
            overdue=Count("pk", filter=was_overdue(now)),
            rated=Count("rating"),
            satisfied=Count("rating", filter=Q(rating__score__gte=ServiceRating.SATISFIED_FROM)),
        )
        .order_by()
    }
    first_accept = (
        ServiceRequestEvent.objects.filter(request=OuterRef("pk"), to_status=ServiceRequest.Status.ACCEPTED)
        .order_by()
        .values("request")
        .annotate(at=Min("created_at"))
        .values("at")[:1]
    )
    accept = medians(
        requests.annotate(accepted_at=Subquery(first_accept)),
        duration=F("accepted_at") - F("created_at"),
        group="item__category_id",
    )
    complete = medians(
        requests.filter(completed_at__isnull=False),
        duration=F("completed_at") - F("created_at"),
        group="item__category_id",
    )
    names = dict(ServiceCategory.objects.filter(pk__in=list(counts)).values_list("pk", "name"))
    out = []
    for category_id, c in sorted(counts.items(), key=lambda kv: (-kv[1]["requests"], kv[0])):
        out.append(
            {
                "category": names.get(category_id, "—"),
                "requests": c["requests"],
                "completed": c["completed"],
                "median_accept_hours": hours(accept.get(category_id)),
                "median_complete_hours": hours(complete.get(category_id)),
                "overdue": c["overdue"],
                "overdue_rate": ratio(c["overdue"], c["requests"]),
                "rated": c["rated"],
                "satisfied": c["satisfied"],
                "satisfaction_rate": ratio(c["satisfied"], c["rated"]),
            }
        )
    return out


def service_trend(neighborhood_ids: list[int], period: Period) -> list[dict]:
    from services.models import ServiceRating, ServiceRequest

    rows = (
        service_requests_in(neighborhood_ids, period)
        .annotate(bucket=trunc_for(period, "created_at"))
        .values("bucket")
        .annotate(
            requests=Count("pk", filter=ServiceRequest.asked()),
            overdue=Count("pk", filter=was_overdue(timezone.now())),
            rated=Count("rating"),
            satisfied=Count("rating", filter=Q(rating__score__gte=ServiceRating.SATISFIED_FROM)),
        )
        .order_by("bucket")
    )
    return [
        {
            "period": bucket_label(period, r["bucket"]),
            "requests": r["requests"],
            "overdue_rate": ratio(r["overdue"], r["requests"]),
            "satisfaction_rate": ratio(r["satisfied"], r["rated"]),
        }
        for r in rows
    ]


def closed_loops(neighborhood_ids: list[int], period: Period, by: str) -> list[LoopRow]:
    """闭环 per unit (`by="unit"`) or street (`by="street"`): matter cases finished in the period
    (confirmed or closed), and among them those confirmed with the answer by the 办结 deadline
    (console/closed_loops.py). One GROUP BY over the case rows."""
    from cases.models import Case

    name = f"{by}__name"
    grouped = (
        Case.objects.filter(
            kind="matter", neighborhood_id__in=neighborhood_ids, status__in=(Case.Status.CONFIRMED, Case.Status.CLOSED),
            finished_at__gte=period.start_at, finished_at__lt=period.end_at,
        )
        .values(f"{by}_id", name)
        .annotate(
            finished=Count("pk"),
            loops=Count("pk", filter=Q(status=Case.Status.CONFIRMED, resolved_at__lte=F("resolve_due_at"))),
        )
        .order_by("-loops", name)
    )
    return [LoopRow(g[name], g["finished"], g["loops"]) for g in grouped]


def sensor_alarms(neighborhood_ids: list[int], period: Period) -> list:
    """物联告警 per neighborhood: the alerts opened in the period, their alarms, those closed with
    an outcome, closed within the case's 办结 deadline, and 误报 (console/sensor_alarms.py). One
    GROUP BY over the alert rows."""
    from console.sensor_alarms import SensorRow
    from sensors.models import SensorCase

    closed = Q(is_open=False) & ~Q(outcome="")
    grouped = (
        SensorCase.objects.filter(
            device__region_id__in=neighborhood_ids, created_at__gte=period.start_at, created_at__lt=period.end_at
        )
        .values("device__region_id", "device__region__name")
        .annotate(
            alarms=Sum("alarm_count"), cases=Count("pk"), closed=Count("pk", filter=closed),
            in_time=Count("pk", filter=closed & Q(case__resolved_at__lte=F("case__resolve_due_at"))),
            false_alarms=Count("pk", filter=closed & Q(outcome="false_alarm")),
        )
        .order_by()
    )
    rows = [
        SensorRow(g["device__region__name"], g["alarms"], g["cases"], g["closed"], g["in_time"], g["false_alarms"])
        for g in grouped
    ]
    return sorted(rows, key=lambda row: (-row.alarms, row.name))
