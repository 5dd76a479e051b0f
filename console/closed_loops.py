"""闭环: matters answered on time and confirmed by the resident, per unit and per street.

Computed live on each dashboard request (not from a snapshot): two GROUP BY queries over the
cases of the region's neighborhoods that finished in the period, through the case's
(neighborhood, status) index (`case_neighborhood_status`). A place for a snapshot table later,
as console/snapshots.py does for the other figures (docs/console.md).

A closed loop is a matter case that the resident confirmed (`confirmed`, not closed by the
7-day job) whose answer came within its 办结 deadline (`resolved_at <= resolve_due_at`),
counted in the period of its confirmation (`finished_at`). Beside it: the matters finished
in the period (confirmed or closed; rejected ones are not finished work) and the share.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q

from cases.models import Case
from console.export import Table
from console.queries import Period, ratio

FINISHED = (Case.Status.CONFIRMED, Case.Status.CLOSED)
CLOSED_LOOP = Q(status=Case.Status.CONFIRMED, resolved_at__lte=F("resolve_due_at"))


@dataclass(frozen=True)
class LoopRow:
    name: str
    finished: int
    closed_loops: int

    @property
    def rate(self) -> float | None:
        return ratio(self.closed_loops, self.finished)


def finished_cases(neighborhood_ids: list[int], period: Period):
    return Case.objects.filter(
        kind="matter", neighborhood_id__in=neighborhood_ids, status__in=FINISHED,
        finished_at__gte=period.start_at, finished_at__lt=period.end_at,
    )


def _rows(neighborhood_ids: list[int], period: Period, key: str, name: str) -> list[LoopRow]:
    grouped = (
        finished_cases(neighborhood_ids, period)
        .values(key, name)
        .annotate(finished=Count("pk"), closed_loops=Count("pk", filter=CLOSED_LOOP))
        .order_by("-closed_loops", name)
    )
    return [LoopRow(g[name], g["finished"], g["closed_loops"]) for g in grouped]


def by_unit(neighborhood_ids: list[int], period: Period) -> list[LoopRow]:
    """Per the unit that held the case at the end (the one that answered)."""
    return _rows(neighborhood_ids, period, "unit_id", "unit__name")


def by_street(neighborhood_ids: list[int], period: Period) -> list[LoopRow]:
    return _rows(neighborhood_ids, period, "street_id", "street__name")


COLUMNS = ["办结诉求", "闭环（按时答复且居民确认）", "闭环率"]


def _pct(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"


def loop_tables(neighborhood_ids: list[int], period: Period) -> dict[str, Table]:
    """The dashboard's two tables (exported like the others with ?table=<key>)."""
    return {
        key: Table(key, title, [head, *COLUMNS], [[r.name, r.finished, r.closed_loops, _pct(r.rate)] for r in rows])
        for key, title, head, rows in (
            ("loops_unit", "诉求闭环 · 按责任单位（实时）", "责任单位", by_unit(neighborhood_ids, period)),
            ("loops_street", "诉求闭环 · 按街道（实时）", "街道", by_street(neighborhood_ids, period)),
        )
    }
