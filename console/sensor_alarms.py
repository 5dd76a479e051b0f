"""物联告警 on the dashboard (docs/sensors.md, Console): per neighborhood (or street, in the
district view) the alarms that came in, the cases they opened (one per alert: a flapping sensor
adds alarms, not cases), how many of those are closed with an outcome, how many within the
case's 办结 deadline, and the false-alarm rate (误报 among the closed).

Read from the snapshots like every other figure (`console.models.SensorDaySnapshot`, filled by
console/snapshots.py, summed by `console.figures.Figures.sensor_alarms`), counted in the period
the alert opened; the live computation over the alert rows is the test's reference
(tests/console/reference.py `sensor_alarms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.export import Table
from console.queries import ratio

if TYPE_CHECKING:
    from console.figures import Figures


@dataclass(frozen=True)
class SensorRow:
    name: str
    alarms: int
    cases: int
    closed: int
    closed_in_time: int
    false_alarms: int

    @property
    def in_time_rate(self) -> float | None:
        return ratio(self.closed_in_time, self.closed)

    @property
    def false_alarm_rate(self) -> float | None:
        return ratio(self.false_alarms, self.closed)


COLUMNS = ["报警次数", "告警案件", "已处置", "按时处置", "按时率", "误报", "误报率"]


def _pct(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"


def sensor_tables(figures: Figures) -> dict[str, Table]:
    """The dashboard's table (exported like the others with ?table=sensor_alarms)."""
    rows = figures.sensor_alarms()
    return {
        "sensor_alarms": Table(
            "sensor_alarms", f"物联告警 · 按{figures.unit}", [figures.unit, *COLUMNS],
            [
                [r.name, r.alarms, r.cases, r.closed, r.closed_in_time, _pct(r.in_time_rate), r.false_alarms,
                 _pct(r.false_alarm_rate)]
                for r in rows
            ],
        )
    }
