"""闭环: matters answered on time and confirmed by the resident, per unit and per street — the
dashboard's two tables.

A closed loop is a matter case that the resident confirmed (`confirmed`, not closed by the
7-day job) whose answer came within its 办结 deadline (`resolved_at <= resolve_due_at`),
counted in the period of its confirmation (`finished_at`). Beside it: the matters finished
in the period (confirmed or closed; rejected ones are not finished work) and the share.

Read from the snapshots like every other figure (`console.models.CaseDaySnapshot`, filled by
console/snapshots.py, summed by `console.figures.Figures.closed_loops`); the live computation
over the case rows is the test's reference (tests/console/reference.py `closed_loops`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.export import Table
from console.queries import ratio

if TYPE_CHECKING:
    from console.figures import Figures


@dataclass(frozen=True)
class LoopRow:
    name: str
    finished: int
    closed_loops: int

    @property
    def rate(self) -> float | None:
        return ratio(self.closed_loops, self.finished)


COLUMNS = ["办结诉求", "闭环（按时答复且居民确认）", "闭环率"]


def _pct(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"


def loop_tables(figures: Figures) -> dict[str, Table]:
    """The dashboard's two tables (exported like the others with ?table=<key>)."""
    return {
        key: Table(key, title, [head, *COLUMNS], [[r.name, r.finished, r.closed_loops, _pct(r.rate)] for r in rows])
        for key, title, head, rows in (
            ("loops_unit", "诉求闭环 · 按责任单位", "责任单位", figures.closed_loops("unit")),
            ("loops_street", "诉求闭环 · 按街道", "街道", figures.closed_loops("street")),
        )
    }
