"""Mint real tokens for the benchmark personas and say which endpoints exist.

Run by bench/load.py in the production environment of the stack under test:
`python bench/prepare.py` prints one JSON object on stdout. Personas come from the
generated district (manage.py generate_district): a resident of the busiest
neighborhood, many residents for creates, the committee staff of that neighborhood,
its street officer and the district admin.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from residents.models import ApiToken, Membership, Region, Role, User  # noqa: E402

N_REQUESTERS = 200


def routed(path: str) -> bool:
    try:
        resolve(path.split("?", 1)[0])
    except Resolver404:
        return False
    return True


def bearer(user: User) -> str:
    return f"Authorization: Bearer {ApiToken.issue(user, user_agent='bench')[1]}"


def busiest_neighborhood() -> Region:
    if apps.is_installed("community") and _has_model("community", "Post"):
        post = apps.get_model("community", "Post")
        row = (
            post.objects.filter(scope="neighborhood").values("region_id").annotate(n=Count("id")).order_by("-n").first()
        )
        if row:
            return Region.objects.get(pk=row["region_id"])
    row = (
        Membership.objects.filter(status=Membership.Status.APPROVED)
        .values("neighborhood_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if row is None:
        raise SystemExit("no approved residents: run BENCH=true manage.py generate_district first")
    return Region.objects.get(pk=row["neighborhood_id"])


def _has_model(app: str, model: str) -> bool:
    try:
        apps.get_model(app, model)
    except LookupError:
        return False
    return True


def resident_of(neighborhood: Region) -> User | None:
    """The first approved member of the neighborhood who holds no role: the plain resident persona."""
    return (
        User.objects.filter(memberships__neighborhood=neighborhood, memberships__status=Membership.Status.APPROVED)
        .exclude(pk__in=Role.objects.values_list("user_id", flat=True))
        .order_by("pk")
        .first()
    )


def role_holder(kind: str, region: Region) -> User | None:
    role = Role.objects.filter(kind=kind, region=region, revoked_at__isnull=True).select_related("user").first()
    return role.user if role else None


def delete_requests_after(last_id: int) -> int:
    """Remove the service requests the create row made (ids above `last_id`), with their
    timeline, so a kept cluster does not grow a backlog of open requests run after run (the
    staff-queue row read 7,869 of them after a day of runs)."""
    from django.db import transaction

    from services.models import ServiceRequest

    with transaction.atomic():
        deleted, _ = ServiceRequest.objects.filter(pk__gt=last_id).delete()
    return deleted


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--delete-requests-after":
        print(json.dumps({"deleted": delete_requests_after(int(sys.argv[2]))}))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--delete-matters-after":
        from bench.matter_bodies import delete_matters_after

        print(json.dumps({"deleted": delete_matters_after(int(sys.argv[2]))}))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--new-request-push":  # on | off (bench/service_bodies.py)
        from bench.service_bodies import switch_new_request_push

        print(json.dumps(switch_new_request_push(busiest_neighborhood(), sys.argv[2] == "on")))
        return
    neighborhood = busiest_neighborhood()
    street = neighborhood.parent
    district = street.parent
    resident = resident_of(neighborhood)
    staff = role_holder(Role.Kind.COMMITTEE_STAFF, neighborhood)
    officer = role_holder(Role.Kind.STREET_OFFICER, street)
    admin = role_holder(Role.Kind.DISTRICT_ADMIN, district)
    resident_auth = bearer(resident)
    out: dict = {
        "neighborhood": {"id": neighborhood.id, "name": neighborhood.name},
        "street": {"id": street.id, "name": street.name},
        "district": {"id": district.id, "name": district.name},
        "scenarios": {},
    }
    if _has_model("services", "ServiceRequest"):
        from django.db.models import Max

        from services.models import ServiceRequest

        out["max_request_id"] = ServiceRequest.objects.aggregate(m=Max("pk"))["m"] or 0
    if _has_model("matters", "Matter"):
        from django.db.models import Max

        from matters.models import Matter

        out["max_matter_id"] = Matter.objects.aggregate(m=Max("pk"))["m"] or 0
    sc = out["scenarios"]
    sc["ceiling"] = _get("/api/v1/bench/ceiling", resident_auth)
    # The bare Django view (bench/bare.py): no middleware, no DRF; the header is sent and ignored.
    sc["bare"] = _get("/api/v1/bench/bare", resident_auth)
    sc["ceiling_post"] = _one("POST", "/api/v1/bench/ceiling", resident_auth, json.dumps({"category": 1}), idem=True)
    sc["feed"] = _get(f"/api/v1/neighborhoods/{neighborhood.id}/feed?limit=20", resident_auth)
    sc["feed_many"] = _feed_many_scenario(neighborhood)
    sc["create"] = _create_request_scenario(neighborhood)
    sc["staff_queue"] = _staff_queue_scenario(staff, neighborhood)
    sc["street_dashboard"] = _dashboard_scenario(officer, "street", street)
    sc["district_dashboard"] = _dashboard_scenario(admin, "district", district)
    sc.update(_matter_scenarios(neighborhood, street, officer))
    json.dump(out, sys.stdout, ensure_ascii=False)


def _one(method: str, path: str, auth: str, body: str = "", idem: bool = False) -> dict:
    if not routed(path):
        return {"available": False, "reason": f"{path.split('?')[0]} is not routed on this branch"}
    return {"available": True, "requests": [[method, path, auth, body, "1" if idem else "0"]]}


def _get(path: str, auth: str) -> dict:
    return _one("GET", path, auth)


def _feed_many_scenario(neighborhood: Region) -> dict:
    """Issue 20: the feed page as N_REQUESTERS different residents read it, each with their own
    token (the feed row reuses one resident and one token)."""
    path = f"/api/v1/neighborhoods/{neighborhood.id}/feed?limit=20"
    members = list(
        User.objects.filter(memberships__neighborhood=neighborhood, memberships__status=Membership.Status.APPROVED)
        .exclude(pk__in=Role.objects.values_list("user_id", flat=True))
        .order_by("pk")[:N_REQUESTERS]
    )
    if not routed(path) or not members:
        return {"available": False, "reason": "no feed or no residents"}
    return {"available": True, "requests": [["GET", path, bearer(u), "", "0"] for u in members]}


def _create_request_scenario(neighborhood: Region) -> dict:
    path = "/api/v1/service-requests"
    if not routed(path) or not _has_model("services", "ServiceRequest"):
        return {"available": False, "reason": "services (POST /api/v1/service-requests) has not landed"}
    from bench import service_bodies  # the services-specific part, written against its models

    return service_bodies.create_scenario(neighborhood, N_REQUESTERS, bearer)


def _staff_queue_scenario(staff: User | None, neighborhood: Region) -> dict:
    if staff is None or not _has_model("services", "ServiceRequest"):
        return {"available": False, "reason": "services has not landed"}
    from bench import service_bodies

    return service_bodies.staff_queue_scenario(staff, neighborhood, bearer)


def _dashboard_scenario(user: User | None, level: str, region: Region) -> dict:
    if user is None:
        return {"available": False, "reason": f"no {level} officer in the generated data"}
    try:
        from bench import dashboards
    except ImportError:
        return {"available": False, "reason": "no dashboard endpoint has landed"}
    return dashboards.scenario(user, level, region, bearer)


def _matter_scenarios(neighborhood: Region, street: Region, officer: User | None) -> dict:
    """The issue 17 rows: create, the unit's queue, the officer's overdue list, the street map's points."""
    keys = ("matter_create", "unit_queue", "officer_overdue", "matter_map")
    if not _has_model("matters", "Matter") or not routed("/api/v1/matters"):
        return {k: {"available": False, "reason": "matters (/api/v1/matters) has not landed"} for k in keys}
    from bench import matter_bodies
    from bench.dashboards import session_cookie

    out = {
        "matter_create": matter_bodies.create_scenario(neighborhood, N_REQUESTERS, bearer),
        "unit_queue": matter_bodies.unit_queue_scenario(neighborhood, bearer),
        "officer_overdue": matter_bodies.officer_overdue_scenario(officer, street, bearer),
    }
    if routed("/console/matters/map/points/"):
        out["matter_map"] = matter_bodies.map_scenario(officer, street, session_cookie)
    else:
        out["matter_map"] = {"available": False, "reason": "the console's matters map has not landed"}
    return out


if __name__ == "__main__":
    main()
