"""数据看板: a neighborhood, a street or the district, over a date range, with CSV/XLSX export."""

from __future__ import annotations

import hashlib
from datetime import date

from django.core.cache import cache
from django.http import Http404
from django.shortcuts import render

from console import queries
from console.access import (
    access_dashboard_region,
    console_view,
    dashboard_regions_for,
    default_dashboard_region,
)
from console.closed_loops import loop_tables
from console.export import Table, export_response
from console.figures import Figures
from console.models import NeighborhoodDaySnapshot
from console.sensor_alarms import sensor_tables
from residents.models import Region


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _percent(value: float | None) -> float | None:
    """A ratio as a percentage for the charts' JSON; None (no denominator) stays None."""
    return None if value is None else round(value * 100, 1)


def _units(region: Region, neighborhood_ids: list[int]) -> tuple[list[int], str]:
    """What the per-region tables list: neighborhoods, or for the district its streets, read
    from their rolled-up snapshot rows (12 rows instead of 550: bench/README.md), when every
    neighborhood of those streets is in the viewer's scope."""
    if region.level != Region.Level.DISTRICT:
        return neighborhood_ids, "居委/村"
    pairs = Region.objects.filter(level=Region.Level.NEIGHBORHOOD, parent__parent_id=region.id).values_list(
        "id", "parent_id"
    )
    allowed = set(neighborhood_ids)
    streets: set[int] = set()
    for neighborhood_id, street_id in pairs:
        if neighborhood_id not in allowed:
            return neighborhood_ids, "居委/村"
        streets.add(street_id)
    return sorted(streets), "街道/镇"


def build_tables(region, neighborhood_ids: list[int], period: queries.Period) -> dict[str, Table]:
    # Every figure is read from the snapshots (console/snapshots.py), refreshed every 10
    # minutes by console.tasks; the page shows when they were computed.
    unit_ids, unit = _units(region, neighborhood_ids)
    figures = Figures(unit_ids, period, unit=unit)
    rows = figures.coverage()
    total = queries.coverage_total(rows, name=f"合计（{region.name}）")
    coverage = Table(
        key="coverage",
        title="覆盖率",
        columns=[
            unit,
            "户数",
            "已加入户数",
            "户覆盖率",
            "常住人口",
            "已加入居民",
            "居民覆盖率",
            "亮身份党员",
            "在册党员",
            "党员亮身份率",
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
                r.party_registered,
                _pct(r.party_rate),
            ]
            for r in [*rows, total]
        ],
    )
    trend_rows = figures.coverage_trend()
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
            "党员亮身份率",
        ],
        rows=[
            [
                t["period"],
                t["households_joined"],
                _pct(queries.ratio(t["households_joined"], total.households)),
                t["residents_joined"],
                _pct(queries.ratio(t["residents_joined"], total.population)),
                t["party_members"],
                # Over today's roll, as the coverage rates use today's households and population.
                _pct(queries.ratio(t["party_members"], total.party_registered)),
            ]
            for t in trend_rows
        ],
    )
    extra_tables, extra_charts = app_tables(figures)
    return {
        "coverage": coverage,
        "coverage_trend": coverage_trend,
        **extra_tables,
        **loop_tables(figures),  # 诉求闭环 (console/closed_loops.py)
        **sensor_tables(figures),  # 物联告警, last (console/sensor_alarms.py)
        "_charts": extra_charts,  # type: ignore[dict-item]
        "_coverage_total": total,  # type: ignore[dict-item]
        "_coverage_rows": rows,  # type: ignore[dict-item]
        "_trend": trend_rows,  # type: ignore[dict-item]
        "_as_of": figures.as_of,  # type: ignore[dict-item]
    }


CACHE_SECONDS = 15 * 60


def cached_tables(region, neighborhood_ids: list[int], period: queries.Period) -> dict:
    """build_tables(), kept in the cache under the snapshots' version.

    Every figure is a function of the snapshot rows, which change only when a refresh writes
    them (every 10 minutes) and stamps its time on every row it writes: the newest
    refreshed_at (an index read) is the version. The first view after a refresh computes the
    figures; the officers who open the same page before the next refresh read them back."""
    version = (
        NeighborhoodDaySnapshot.objects.order_by("-refreshed_at").values_list("refreshed_at", flat=True).first()
    )
    raw = f"{version}|{region.pk}|{period.start}|{period.end}|{','.join(map(str, sorted(neighborhood_ids)))}"
    key = "console:dashboard:" + hashlib.sha256(raw.encode()).hexdigest()
    tables = cache.get(key)
    if tables is None:
        tables = build_tables(region, neighborhood_ids, period)
        cache.set(key, tables, CACHE_SECONDS)
    return tables


TITLES = {"chart-posts": "居民发帖与回应", "chart-services": "各类服务工单与超时", "chart-funnel": "议事漏斗"}


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value}"


def _bar(id_: str, categories: list, series: dict[str, list]) -> dict:
    return {
        "id": id_,
        "option": {
            "legend": {"data": list(series)},
            "xAxis": {"type": "category", "data": categories},
            "yAxis": {"type": "value"},
            "series": [{"name": name, "type": "bar", "data": data} for name, data in series.items()],
        },
    }


def _post_tables(
    figures: Figures,
    names: dict[int, str],
    tables: dict[str, Table],
    charts: list[dict],
) -> None:
    """居民发帖与回应 (community)."""
    stats = figures.post_stats()
    rows = []
    for nid in sorted(stats["per"], key=lambda i: names.get(i, "")):
        r = stats["per"][nid]
        rows.append(
            [
                names.get(nid, "—"),
                r["posts"],
                r["answered"],
                _pct(queries.ratio(r["answered"], r["posts"])),
                _hours(queries.hours(stats["median"].get(nid))),
            ]
        )
    total_posts = sum(r["posts"] for r in stats["per"].values())
    total_answered = sum(r["answered"] for r in stats["per"].values())
    rows.append(
        [
            "合计",
            total_posts,
            total_answered,
            _pct(queries.ratio(total_answered, total_posts)),
            _hours(queries.hours(stats["overall_median"])),
        ]
    )
    tables["posts"] = Table(
        "posts", "居民发帖与回应", [figures.unit, "居民帖子", "已回应", "回应率", "回应时间中位数(小时)"], rows
    )
    trend = figures.post_trend()
    tables["posts_trend"] = Table(
        "posts_trend",
        "发帖回应趋势",
        ["周期", "居民帖子", "已回应", "回应率"],
        [[t["period"], t["posts"], t["answered"], _pct(queries.ratio(t["answered"], t["posts"]))] for t in trend],
    )
    charts.append(
        _bar(
            "chart-posts",
            [t["period"] for t in trend],
            {"居民帖子": [t["posts"] for t in trend], "已回应": [t["answered"] for t in trend]},
        )
    )


def _service_tables(
    figures: Figures,
    names: dict[int, str],
    tables: dict[str, Table],
    charts: list[dict],
) -> None:
    """服务工单 by category (services)."""
    by_category = figures.service_stats()
    tables["services"] = Table(
        "services",
        "服务工单（按大类）",
        [
            "服务大类",
            "工单数",
            "已完成",
            "受理时间中位数(小时)",
            "完成时间中位数(小时)",
            "超时数",
            "超时率",
            "评价数",
            "满意数",
            "满意率",
        ],
        [
            [
                c["category"],
                c["requests"],
                c["completed"],
                _hours(c["median_accept_hours"]),
                _hours(c["median_complete_hours"]),
                c["overdue"],
                _pct(c["overdue_rate"]),
                c["rated"],
                c["satisfied"],
                _pct(c["satisfaction_rate"]),
            ]
            for c in by_category
        ],
    )
    trend = figures.service_trend()
    tables["services_trend"] = Table(
        "services_trend",
        "服务趋势",
        ["周期", "工单数", "超时率", "满意率"],
        [[t["period"], t["requests"], _pct(t["overdue_rate"]), _pct(t["satisfaction_rate"])] for t in trend],
    )
    charts.append(
        _bar(
            "chart-services",
            [c["category"] for c in by_category],
            {"工单数": [c["requests"] for c in by_category], "超时数": [c["overdue"] for c in by_category]},
        )
    )


def _deliberation_tables(
    figures: Figures,
    names: dict[int, str],
    tables: dict[str, Table],
    charts: list[dict],
) -> None:
    """议事漏斗 (deliberation)."""
    funnel = figures.topic_funnel()
    tables["funnel"] = Table(
        "funnel", "议事漏斗", ["阶段", "议题数"], [[label, funnel[key]] for key, label in queries.FUNNEL]
    )
    trend = figures.topic_trend()
    tables["funnel_trend"] = Table(
        "funnel_trend",
        "议事趋势",
        ["周期", "提出", "通过"],
        [[t["period"], t["proposed"], t["passed"]] for t in trend],
    )
    charts.append(
        {
            "id": "chart-funnel",
            "option": {
                "tooltip": {"trigger": "item"},
                "series": [
                    {
                        "type": "funnel",
                        "sort": "none",
                        "left": "10%",
                        "width": "80%",
                        "label": {"formatter": "{b}: {c}"},
                        "data": [{"name": label, "value": funnel[key]} for key, label in queries.FUNNEL],
                    }
                ],
            },
        }
    )


def app_tables(figures: Figures) -> tuple[dict[str, Table], list[dict]]:
    """Posts, services and deliberation figures, with their charts."""
    tables: dict[str, Table] = {}
    charts: list[dict] = []
    names = dict(Region.objects.filter(pk__in=figures.neighborhood_ids).values_list("pk", "name"))
    for add in (_post_tables, _service_tables, _deliberation_tables):
        add(figures, names, tables, charts)
    return tables, charts


@console_view()
def dashboard(request):
    scope = request.console
    raw_region = request.GET.get("region", "")
    if raw_region:
        if not raw_region.isdigit():
            raise Http404()
        region, neighborhood_ids = access_dashboard_region(scope, int(raw_region))
    else:
        region, neighborhood_ids = access_dashboard_region(scope, default_dashboard_region(scope))
    regions = dashboard_regions_for(scope, focus=region)
    period = queries.make_period(_date(request.GET.get("from")), _date(request.GET.get("to")))
    tables = cached_tables(region, neighborhood_ids, period)

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
            # 党员亮身份率 with what it is made of, per row and for the total (rates of a street
            # or the district are the total's sums divided, not an average of the rows' rates).
            "party_rate": [_percent(r.party_rate) for r in tables["_coverage_rows"]],
            "party_members": [r.party_members for r in tables["_coverage_rows"]],
            "party_registered": [r.party_registered for r in tables["_coverage_rows"]],
            "total": {
                "party_members": total.party_members,
                "party_registered": total.party_registered,
                "party_rate": _percent(total.party_rate),
            },
        },
        "coverage_trend": {
            "periods": [t["period"] for t in tables["_trend"]],
            "households_joined": [t["households_joined"] for t in tables["_trend"]],
            "residents_joined": [t["residents_joined"] for t in tables["_trend"]],
            "party_members": [t["party_members"] for t in tables["_trend"]],
            "party_rate": [_percent(queries.ratio(t["party_members"], total.party_registered)) for t in tables["_trend"]],
        },
        "extra": tables["_charts"],
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
            "party_rate": _pct(total.party_rate),
            "tables": [t for k, t in tables.items() if not k.startswith("_")],
            "chart": chart,
            "chart_boxes": [{"id": c["id"], "title": TITLES.get(c["id"], "")} for c in tables["_charts"]],
            "query": f"region={region.id}&from={period.start}&to={period.end}",
            "as_of_day": tables["_as_of"][0],
            "as_of": tables["_as_of"][1],
        },
    )
