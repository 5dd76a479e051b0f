"""Read models for the console: home counts and dashboard aggregates.

Every aggregate is one GROUP BY (or one row of conditional aggregates) over indexed
columns; nothing loops over rows in Python. Rates are computed from the sums here so
that the page, the CSV and the browser test read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from residents.models import Membership, PartyIdentityRequest, Region, Role

# --- Home -------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeCard:
    key: str
    label: str
    count: int
    url: str
    urgent: bool = False  # drawn in the alert colour when the count is not zero


def pending_memberships_count(neighborhood_ids: frozenset[int] | list[int]) -> int:
    return Membership.objects.filter(neighborhood_id__in=neighborhood_ids, status=Membership.Status.PENDING).count()


def pending_party_identity_count(neighborhood_ids: frozenset[int] | list[int]) -> int:
    return PartyIdentityRequest.objects.filter(
        neighborhood_id__in=neighborhood_ids, status=PartyIdentityRequest.Status.PENDING
    ).count()


# --- Periods ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive
    granularity: str  # "week" | "month"

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """Exclusive end: midnight after the last day."""
        return local_midnight(self.end + timedelta(days=1))

    def buckets(self) -> list[tuple[str, datetime]]:
        """(label, exclusive end) for each week or month of the period, at most 36."""
        out: list[tuple[str, datetime]] = []
        if self.granularity == "week":
            cursor = self.start - timedelta(days=self.start.weekday())
            while cursor <= self.end:
                nxt = cursor + timedelta(days=7)
                out.append(
                    (
                        cursor.strftime("%m-%d") + "周",
                        local_midnight(min(nxt, self.end + timedelta(days=1))),
                    )
                )
                cursor = nxt
        else:
            cursor = self.start.replace(day=1)
            while cursor <= self.end:
                nxt = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
                out.append(
                    (
                        cursor.strftime("%Y-%m"),
                        local_midnight(min(nxt, self.end + timedelta(days=1))),
                    )
                )
                cursor = nxt
        return out[-36:]


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def make_period(start: date | None, end: date | None) -> Period:
    today = timezone.localdate()
    end = min(end or today, today + timedelta(days=1))
    start = start or end - timedelta(days=89)
    if start > end:
        start, end = end, start
    granularity = "week" if (end - start).days <= 7 * 26 else "month"
    return Period(start=start, end=end, granularity=granularity)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- Coverage ---------------------------------------------------------------------


@dataclass
class CoverageRow:
    neighborhood_id: int
    name: str
    households: int
    population: int
    households_joined: int
    residents_joined: int
    party_members: int  # verified (an active party_member role) and so showing the badge
    party_registered: int = 0  # 在册党员: Region.registered_party_members

    @property
    def household_rate(self) -> float | None:
        return _ratio(self.households_joined, self.households)

    @property
    def party_rate(self) -> float | None:
        """党员亮身份率: party members showing the badge over the party roll (None without a roll)."""
        return _ratio(self.party_members, self.party_registered)

    @property
    def resident_rate(self) -> float | None:
        return _ratio(self.residents_joined, self.population)


def _approved_by(at: datetime) -> Q:
    # Coverage as of a moment: approved memberships decided before it. A membership that
    # was approved and later left is not counted at all (the current status is what we
    # keep; DESIGN has no membership history table).
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
        for row in Membership.objects.filter(_approved_by(until), neighborhood_id__in=neighborhood_ids)
        .values("neighborhood_id")
        .annotate(
            households_joined=Count("household_key", distinct=True, filter=~Q(household_key="")),
            residents_joined=Count("user_id", distinct=True),
        )
        .order_by()
    }
    party = dict(
        Role.objects.filter(_party_active_at(until), region_id__in=neighborhood_ids)
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


def coverage_total(rows: list[CoverageRow], *, name: str) -> CoverageRow:
    # Household keys include the neighborhood, so summing per-neighborhood counts is exact;
    # a person with homes in two neighborhoods counts in both, as the denominators do.
    return CoverageRow(
        neighborhood_id=0,
        name=name,
        households=sum(r.households for r in rows),
        population=sum(r.population for r in rows),
        households_joined=sum(r.households_joined for r in rows),
        residents_joined=sum(r.residents_joined for r in rows),
        party_members=sum(r.party_members for r in rows),
        # Rates of a street or the district come from these sums, never from averaging rates.
        party_registered=sum(r.party_registered for r in rows),
    )


def _party_active_at(at: datetime) -> Q:
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
            filter=_approved_by(end) & ~Q(household_key=""),
        )
        member_aggs[f"r{i}"] = Count("user_id", distinct=True, filter=_approved_by(end))
    members = base.aggregate(**member_aggs) if buckets else {}
    party_aggs = {
        f"p{i}": Count("user_id", distinct=True, filter=_party_active_at(end)) for i, (_l, end) in enumerate(buckets)
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


# --- Shared helpers for the apps' figures -------------------------------------------


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


def bucket_label(period: Period, value) -> str:
    if value is None:
        return ""
    day = value.date() if hasattr(value, "date") else value
    return day.strftime("%m-%d") + "周" if period.granularity == "week" else day.strftime("%Y-%m")


def hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 1)


# --- Posts (community) -----------------------------------------------------------------


def resident_posts(neighborhood_ids: list[int], period: Period):
    from community.models import ContentStatus, Post

    # The posts 发帖必响应 applies to: residents' posts in a neighborhood that reached the feed.
    return Post.objects.filter(
        region_id__in=neighborhood_ids,
        scope=Post.Scope.NEIGHBORHOOD,
        needs_answer=True,
        created_at__gte=period.start_at,
        created_at__lt=period.end_at,
    ).exclude(status__in=[ContentStatus.PENDING_CHECK, ContentStatus.DELETED])


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


# --- Deliberation ------------------------------------------------------------------------

FUNNEL = [
    ("proposed", "提出"),
    ("discussed", "进入讨论"),
    ("voted", "进入表决"),
    ("passed", "表决通过"),
    ("implemented", "进入实施"),
    ("evaluated", "完成评估"),
]


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


# --- Services ----------------------------------------------------------------------------


def service_requests_in(neighborhood_ids: list[int], period: Period):
    from services.models import ServiceRequest

    return ServiceRequest.objects.filter(
        neighborhood_id__in=neighborhood_ids, created_at__gte=period.start_at, created_at__lt=period.end_at
    )


def _was_overdue(now: datetime) -> Q:
    # Overdue once (the services task stamps escalated_at) or overdue now: services' own rule.
    from services.queries import overdue_condition

    return Q(escalated_at__isnull=False) | overdue_condition(now)


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
            overdue=Count("pk", filter=_was_overdue(now)),
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
                "overdue_rate": _ratio(c["overdue"], c["requests"]),
                "rated": c["rated"],
                "satisfied": c["satisfied"],
                "satisfaction_rate": _ratio(c["satisfied"], c["rated"]),
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
            overdue=Count("pk", filter=_was_overdue(timezone.now())),
            rated=Count("rating"),
            satisfied=Count("rating", filter=Q(rating__score__gte=ServiceRating.SATISFIED_FROM)),
        )
        .order_by("bucket")
    )
    return [
        {
            "period": bucket_label(period, r["bucket"]),
            "requests": r["requests"],
            "overdue_rate": _ratio(r["overdue"], r["requests"]),
            "satisfaction_rate": _ratio(r["satisfied"], r["rated"]),
        }
        for r in rows
    ]
