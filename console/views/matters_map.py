"""诉求地图: a neighborhood's or street's open matters as points on plain latitude/longitude
axes (ECharts scatter, no map tiles: nothing is fetched from outside the site).

The page draws what `map_points` answers; the region is one the user's dashboard may show
(console.access.access_dashboard_region: anything else is 404), and only matters in the
user's staff neighborhoods are points (staff see every matter there, matters.access).
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from cases.models import Case
from console.access import access_dashboard_region, console_view, dashboard_regions_for, default_dashboard_region
from matters.models import Matter
from residents.access import profile

MAX_POINTS = 5000


def _region(request):
    scope = request.console
    raw = request.GET.get("region", "")
    if raw and not raw.isdigit():
        raise Http404()
    return access_dashboard_region(scope, int(raw) if raw else default_dashboard_region(scope))


def map_points(user, neighborhood_ids: list[int], now) -> tuple[list[dict], bool]:
    """Open matters with a location in the neighborhoods the user is staff of (who see every
    matter there, matters.access), overdue ones first, at most MAX_POINTS.

    Two queries, each on an index: the open matter cases of the neighborhoods through the
    case's (neighborhood, status) index, then their matters by case id. One joined query let
    PostgreSQL hash the street's 40,000 matters against its open cases: 96–134 ms at Baoshan
    scale for 386 points against ~12 ms for these two (bench/README.md, issue 17, session 8)."""
    staff_of = profile(user).staff_of
    cases = {
        pk: (status, due)
        for pk, status, due in Case.objects.filter(
            neighborhood_id__in=[n for n in neighborhood_ids if n in staff_of], kind="matter", status__in=Case.OPEN
        ).values_list("id", "status", "due_at")
    }
    rows = Matter.objects.filter(case_id__in=list(cases), latitude__isnull=False).values_list(
        "id", "case_id", "latitude", "longitude", "category__name", "place"
    )
    # Overdue first: the earliest running deadline, then the answered (no deadline); by id within.
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    ordered = sorted(rows, key=lambda row: (cases[row[1]][1] or far, row[0]))
    points = [
        {
            "id": pk,
            "lat": float(lat),
            "lng": float(lng),
            "category": category,
            "status": cases[case_id][0],
            "overdue": cases[case_id][1] is not None and cases[case_id][1] < now,
            "place": place,
        }
        for pk, case_id, lat, lng, category, place in ordered[: MAX_POINTS + 1]
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
