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
    party_members: int

    @property
    def household_rate(self) -> float | None:
        return _ratio(self.households_joined, self.households)

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
        Region.objects.filter(pk__in=neighborhood_ids).order_by("code").values("id", "name", "households", "population")
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
