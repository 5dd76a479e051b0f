"""数据看板: a neighborhood, a street or the district, over a date range, with CSV/XLSX export."""

from __future__ import annotations

from datetime import date

from django.http import Http404
from django.shortcuts import render

from console import queries
from console.access import access_dashboard_region, console_view, dashboard_regions_for
from console.export import Table, export_response


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def build_tables(region, neighborhood_ids: list[int], period: queries.Period) -> dict[str, Table]:
    rows = queries.coverage(neighborhood_ids, until=period.end_at)
    total = queries.coverage_total(rows, name=f"合计（{region.name}）")
    coverage = Table(
        key="coverage",
        title="覆盖率",
        columns=[
            "居委/村",
            "户数",
            "已加入户数",
            "户覆盖率",
            "常住人口",
            "已加入居民",
            "居民覆盖率",
            "亮身份党员",
        ],
        rows=[
            [
                r.name,
                r.households,
                r.households_joined,
                _pct(r.household_rate),
                r.population,
                r.residents_joined,
                _pct(r.resident_rate),
                r.party_members,
            ]
            for r in [*rows, total]
        ],
    )
    trend_rows = queries.coverage_trend(neighborhood_ids, period)
    coverage_trend = Table(
        key="coverage_trend",
        title="覆盖趋势",
        columns=[
            "周期",
            "已加入户数",
            "户覆盖率",
            "已加入居民",
            "居民覆盖率",
            "亮身份党员",
        ],
        rows=[
            [
                t["period"],
                t["households_joined"],
                _pct(queries._ratio(t["households_joined"], total.households)),
                t["residents_joined"],
                _pct(queries._ratio(t["residents_joined"], total.population)),
                t["party_members"],
            ]
            for t in trend_rows
        ],
    )
    return {
        "coverage": coverage,
        "coverage_trend": coverage_trend,
        "_coverage_total": total,  # type: ignore[dict-item]
        "_coverage_rows": rows,  # type: ignore[dict-item]
        "_trend": trend_rows,  # type: ignore[dict-item]
    }


@console_view()
def dashboard(request):
    scope = request.console
    regions = dashboard_regions_for(scope)
    raw_region = request.GET.get("region", "")
    if raw_region:
        if not raw_region.isdigit():
            raise Http404()
        region, neighborhood_ids = access_dashboard_region(scope, int(raw_region))
    else:
        region, neighborhood_ids = access_dashboard_region(scope, regions[0].id)
    period = queries.make_period(_date(request.GET.get("from")), _date(request.GET.get("to")))
    tables = build_tables(region, neighborhood_ids, period)

    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        table = tables.get(request.GET.get("table", "coverage"))
        if not isinstance(table, Table):
            raise Http404()
        return export_response(
            table,
            fmt,
            filename=f"{region.name}-{table.title}-{period.start}-{period.end}",
        )

    total = tables["_coverage_total"]
    chart = {
        "coverage": {
            "names": [r.name for r in tables["_coverage_rows"]],
            "household_rate": [round((r.household_rate or 0) * 100, 1) for r in tables["_coverage_rows"]],
            "resident_rate": [round((r.resident_rate or 0) * 100, 1) for r in tables["_coverage_rows"]],
        },
        "coverage_trend": {
            "periods": [t["period"] for t in tables["_trend"]],
            "households_joined": [t["households_joined"] for t in tables["_trend"]],
            "residents_joined": [t["residents_joined"] for t in tables["_trend"]],
            "party_members": [t["party_members"] for t in tables["_trend"]],
        },
    }
    return render(
        request,
        "console/dashboard.html",
        {
            "active": "dashboard",
            "region": region,
            "regions": regions,
            "period": period,
            "total": total,
            "household_rate": _pct(total.household_rate),
            "resident_rate": _pct(total.resident_rate),
            "tables": [t for k, t in tables.items() if not k.startswith("_")],
            "chart": chart,
            "query": f"region={region.id}&from={period.start}&to={period.end}",
        },
    )
