"""The matters rows of the load test (issue 17): create, a unit's queue, the officer's overdue
list and a street's map points (see bench/prepare.py; docs/matters.md has the endpoints)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db.models import Count, Q
from django.utils import timezone

from cases.models import Case, ResponsibleUnit
from matters.models import Matter, MatterItem, RegionBounds
from residents.models import Membership, Region, Role, User


def create_scenario(neighborhood: Region, n: int, bearer: Callable[[User], str]) -> dict:
    """POST /api/v1/matters by `n` rotating residents of the neighborhood, each with a fresh
    Idempotency-Key (wrk_request.lua), a point inside the neighborhood's bounds and `insist`
    (the same place and category again would otherwise answer 409 similar_matter_open)."""
    item = MatterItem.objects.filter(is_active=True, category__is_active=True, category__routes__isnull=False).first()
    if item is None:
        return {"available": False, "reason": "no matter category with a routing rule (generate_district)"}
    residents = list(
        User.objects.filter(memberships__neighborhood=neighborhood, memberships__status=Membership.Status.APPROVED)
        .exclude(pk__in=Role.objects.values_list("user_id", flat=True))
        .order_by("pk")[:n]
    )
    if not residents:
        return {"available": False, "reason": "no residents in the busiest neighborhood"}
    bounds = RegionBounds.objects.filter(region=neighborhood).first()
    body: dict = {"item": item.id, "text": "楼下路灯坏了，晚上很黑", "place": "3号楼门口", "neighborhood": neighborhood.id,
                  "insist": True}
    if bounds is not None:
        body["latitude"] = f"{(bounds.min_lat + bounds.max_lat) / 2:.6f}"
        body["longitude"] = f"{(bounds.min_lng + bounds.max_lng) / 2:.6f}"
    payload = json.dumps(body, ensure_ascii=False)
    return {"available": True, "requests": [["POST", "/api/v1/matters", bearer(u), payload, "1"] for u in residents]}


def unit_queue_scenario(neighborhood: Region, bearer: Callable[[User], str]) -> dict:
    """The queue a member of the unit with the most open cases in the neighborhood works from."""
    row = (
        Case.objects.filter(kind="matter", neighborhood=neighborhood, status__in=Case.OPEN)
        .values("unit_id").annotate(n=Count("id")).order_by("-n").first()
    )
    unit = ResponsibleUnit.objects.filter(pk=row["unit_id"]).first() if row else None
    member = unit.members.order_by("pk").first() if unit else None
    if member is None:
        return {"available": False, "reason": "no unit with open matters and a member in the busiest neighborhood"}
    path = "/api/v1/matters?scope=queue&limit=20"
    return {"available": True, "unit": unit.name, "requests": [["GET", path, bearer(member), "", "0"]]}


def officer_overdue_scenario(officer: User | None, street: Region, bearer: Callable[[User], str]) -> dict:
    """The street officer's queue over the API: every running deadline in the street's
    neighborhoods, earliest first, so the overdue lead (there is no separate overdue endpoint)."""
    if officer is None:
        return {"available": False, "reason": "no street officer in the generated data"}
    overdue = Case.objects.filter(kind="matter", street=street, due_at__lt=timezone.now()).count()
    path = "/api/v1/matters?scope=queue&limit=20"
    return {"available": True, "overdue": overdue, "requests": [["GET", path, bearer(officer), "", "0"]]}


def map_scenario(officer: User | None, street: Region, session_cookie: Callable[[User], str]) -> dict:
    """The console's 诉求地图 JSON points for the street (a console session, like the dashboards)."""
    if officer is None:
        return {"available": False, "reason": "no street officer in the generated data"}
    points = Matter.objects.filter(
        Q(neighborhood__parent=street), case__status__in=Case.OPEN, latitude__isnull=False
    ).count()
    path = f"/console/matters/map/points/?region={street.id}"
    return {"available": True, "points": points, "requests": [["GET", path, session_cookie(officer), "", "0"]]}


def delete_matters_after(last_id: int) -> int:
    """Remove the matters the create row made (ids above `last_id`) and their cases and timelines."""
    from django.db import transaction

    with transaction.atomic():
        case_ids = list(Matter.objects.filter(pk__gt=last_id).values_list("case_id", flat=True))
        deleted, _ = Matter.objects.filter(pk__gt=last_id).delete()
        Case.objects.filter(pk__in=case_ids).delete()
    return deleted
