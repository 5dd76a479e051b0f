"""诉求地图: a neighborhood's or street's open matters as points on plain latitude/longitude
axes (ECharts scatter, no map tiles: nothing is fetched from outside the site).

The page draws what `map_points` answers; the region is one the user's dashboard may show
(console.access.access_dashboard_region: anything else is 404), and only matters in the
user's staff neighborhoods that they may see (matters.access) are points.
"""

from __future__ import annotations

from django.db.models import F
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from cases.models import Case
from console.access import access_dashboard_region, console_view, dashboard_regions_for, default_dashboard_region
from matters.access import visible_matters_for

MAX_POINTS = 5000


def _region(request):
    scope = request.console
    raw = request.GET.get("region", "")
    if raw and not raw.isdigit():
        raise Http404()
    return access_dashboard_region(scope, int(raw) if raw else default_dashboard_region(scope))


def map_points(user, neighborhood_ids: list[int], now) -> tuple[list[dict], bool]:
    """Open matters with a location in the neighborhoods, overdue ones first, at most MAX_POINTS
    (one query: the (neighborhood, status) index on the case, then the matter by its case)."""
    rows = (
        visible_matters_for(user)
        .filter(neighborhood_id__in=neighborhood_ids, case__status__in=Case.OPEN, latitude__isnull=False)
        .order_by(F("case__due_at").asc(nulls_last=True), "id")
        .values_list("id", "latitude", "longitude", "category__name", "case__status", "case__due_at", "place")[
            : MAX_POINTS + 1
        ]
    )
    points = [
        {
            "id": pk,
            "lat": float(lat),
            "lng": float(lng),
            "category": category,
            "status": status,
            "overdue": due is not None and due < now,
            "place": place,
        }
        for pk, lat, lng, category, status, due, place in rows
    ]
    return points[:MAX_POINTS], len(points) > MAX_POINTS


@console_view()
def matters_map(request):
    region, _ids = _region(request)
    return render(
        request,
        "console/matters_map.html",
        {"active": "matters_map", "region": region, "regions": dashboard_regions_for(request.console, focus=region)},
    )


@console_view()
def matters_map_data(request):
    region, neighborhood_ids = _region(request)
    points, truncated = map_points(request.user, neighborhood_ids, timezone.now())
    return JsonResponse(
        {
            "region": {"id": region.id, "name": region.name},
            "statuses": dict(Case.Status.choices),
            "points": points,
            "truncated": truncated,
        }
    )
