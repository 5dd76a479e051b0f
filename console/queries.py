"""Read models for the console: home counts, and what the dashboard's figures share.

The dashboard's figures themselves come from snapshots (console/snapshots.py: refreshed
from the apps' rows, read back by `Figures`). This module holds what both sides and the
views share: the period and its buckets, the coverage row and its rates (`ratio`: rates
come from sums, so the page, the CSV and the browser test read the same numbers), and the
rules that choose the rows a figure counts (`resident_posts`, `was_overdue`). The live
aggregates the snapshot figures are checked against are test code (tests/console/reference.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from residents.models import Membership, PartyIdentityRequest

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
            cursor = monday(self.start)
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


def monday(day: date) -> date:
    """The Monday of `day`'s week: where a week bucket and a week roll-up row start."""
    return day - timedelta(days=day.weekday())


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


def ratio(part: int, whole: int) -> float | None:
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
        return ratio(self.households_joined, self.households)

    @property
    def party_rate(self) -> float | None:
        """党员亮身份率: party members showing the badge over the party roll (None without a roll)."""
        return ratio(self.party_members, self.party_registered)

    @property
    def resident_rate(self) -> float | None:
        return ratio(self.residents_joined, self.population)


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


# --- Buckets and units -----------------------------------------------------------------


def bucket_label(period: Period, value) -> str:
    if value is None:
        return ""
    day = value.date() if hasattr(value, "date") else value
    return day.strftime("%m-%d") + "周" if period.granularity == "week" else day.strftime("%Y-%m")


def hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 1)


# --- Which rows a figure counts ---------------------------------------------------------


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


def was_overdue(now: datetime) -> Q:
    # Overdue once (the services task stamps escalated_at) or overdue now: services' own rule.
    from services.queries import overdue_condition

    return Q(escalated_at__isnull=False) | overdue_condition(now)


# The deliberation funnel's stages, in order, with their labels.
FUNNEL = [
    ("proposed", "提出"),
    ("discussed", "进入讨论"),
    ("voted", "进入表决"),
    ("passed", "表决通过"),
    ("implemented", "进入实施"),
    ("evaluated", "完成评估"),
]
