"""The map of open matters (a JSON endpoint scoped like the dashboard) and the dashboard's
closed loops per unit and per street, checked against the case rows behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.actions import do_close_unconfirmed_cases
from cases.models import Case
from matters.models import RoutingRule
from tests.conftest import Api
from tests.console.conftest import refresh_snapshots
from tests.console.test_matters_board import client_for, make_overdue, many_reports, report  # noqa: F401  (many_reports: the fixture)
from tests.matters import conftest as matters_world
from tests.matters.conftest import created, url

world = matters_world.world
standin = matters_world.standin


def points_url(region) -> str:
    return f"/console/matters/map/points/?region={region.id}"


def _answer(world, matter_id: int, unit_user) -> None:
    unit = Api(unit_user)
    assert unit.post(url(matter_id, "accept")).status_code == 200
    assert unit.post(url(matter_id, "resolve"), {"answer": "已处理"}).status_code == 200


def test_the_map_shows_open_matters_with_a_location_in_scope(world):
    open_one, overdue, answered = report(world, n=1), report(world, n=2), report(world, n=3)
    no_location = report(world, n=4, latitude=None, longitude=None)
    finished = report(world, n=5)
    make_overdue(overdue)
    _answer(world, answered, world.property_worker)
    _answer(world, finished, world.property_worker)
    Api(world.reporter).post(url(finished, "confirm"))
    body = client_for(world.officer).get(points_url(world.street)).json()
    got = {p["id"]: (p["overdue"], p["status"]) for p in body["points"]}
    assert got == {open_one: (False, "submitted"), overdue: (True, "submitted"), answered: (False, "resolved")}
    assert body["points"][0]["id"] == overdue  # the most urgent first (kept if the points are cut)
    assert body["points"][0]["category"] == "设施报修" and body["points"][0]["lat"] == 31.345
    assert no_location not in got and body["truncated"] is False
    # A neighborhood's map for its committee staff; the street is not theirs.
    staff = client_for(world.staff)
    assert {p["id"] for p in staff.get(points_url(world.neighborhood)).json()["points"]} == set(got)
    assert staff.get(points_url(world.street)).status_code == 404
    assert client_for(world.other_officer).get(points_url(world.street)).status_code == 404
    assert client_for(world.other_officer).get(points_url(world.neighborhood)).status_code == 404
    assert client_for(world.property_worker).get(points_url(world.neighborhood)).status_code == 403


def test_a_cut_map_keeps_the_most_urgent_points_in_deadline_order(world, monkeypatch):
    from console.views import matters_map

    later, sooner, overdue = report(world, n=1), report(world, n=2), report(world, n=3)
    now = timezone.now()
    Case.objects.filter(matter__id=later).update(due_at=now + timedelta(hours=5))
    Case.objects.filter(matter__id=sooner).update(due_at=now + timedelta(hours=1))
    make_overdue(overdue)
    monkeypatch.setattr(matters_map, "MAX_POINTS", 2)
    body = client_for(world.officer).get(points_url(world.street)).json()
    assert [p["id"] for p in body["points"]] == [overdue, sooner] and body["truncated"] is True
    monkeypatch.setattr(matters_map, "MAX_POINTS", 3)
    body = client_for(world.officer).get(points_url(world.street)).json()
    assert [p["id"] for p in body["points"]] == [overdue, sooner, later] and body["truncated"] is False


def test_the_map_page_loads_nothing_from_outside(world):
    page = client_for(world.officer).get(f"/console/matters/map/?region={world.street.id}").content.decode()
    assert f'data-points-url="/console/matters/map/points/?region={world.street.id}"' in page
    assert "http://" not in page and "https://" not in page and "/static/vendor/echarts/" in page


@pytest.mark.usefixtures("many_reports")
def test_the_map_data_costs_the_same_for_3_and_12_points(world):
    client = client_for(world.officer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(points_url(world.street)).status_code == 200
        return len(ctx.captured_queries)

    for n in range(3):
        report(world, n=n)
    few = queries()
    for n in range(3, 12):
        report(world, n=n)
    assert queries() == few


def _closed_loop_world(world):
    """Matters finished in every way the figure tells apart."""
    on_time = report(world, n=1)
    _answer(world, on_time, world.property_worker)
    late = report(world, n=2)
    _answer(world, late, world.property_worker)
    case = Case.objects.get(matter__id=late)
    Case.objects.filter(pk=case.pk).update(resolve_due_at=case.resolved_at - timedelta(hours=1))
    unconfirmed = report(world, world.parking, n=3)
    _answer(world, unconfirmed, world.urban_worker)
    for matter in (on_time, late):
        Api(world.reporter).post(url(matter, "confirm"))
    do_close_unconfirmed_cases(now=timezone.now() + timedelta(days=8))
    Case.objects.filter(matter__id=unconfirmed).update(finished_at=timezone.now())  # closed today, not in 8 days
    parking = report(world, world.parking, n=4)
    _answer(world, parking, world.urban_worker)
    Api(world.reporter).post(url(parking, "confirm"))
    sister = created(Api(world.sister_resident), world.parking, place="二村大门")["id"]
    _answer(world, sister, world.urban_worker)
    Api(world.sister_resident).post(url(sister, "confirm"))
    rejected = report(world, n=6)
    assert Api(world.property_worker).post(url(rejected, "reject"), {"reason": "重复"}).status_code == 200
    still_open = report(world, n=7)
    _answer(world, still_open, world.property_worker)
    RoutingRule.objects.create(region=world.other_neighborhood.parent, category=world.parking.category, unit=world.other_grid)
    world.other_grid.members.add(world.other_officer)
    far = created(Api(world.outsider), world.parking, place="塘后路口", latitude=None, longitude=None)["id"]
    _answer(world, far, world.other_officer)
    Api(world.outsider).post(url(far, "confirm"))


def _expected(key: str, name: str) -> dict:
    """The figure from the case rows, in Python: finished = confirmed or closed; a loop is
    confirmed with the answer by the 办结 deadline."""
    out: dict = {}
    for case in Case.objects.select_related("unit", "street").filter(status__in=["confirmed", "closed"]):
        label = getattr(case, name).name
        finished, loops = out.get(label, (0, 0))
        loop = case.status == "confirmed" and case.resolved_at <= case.resolve_due_at
        out[label] = (finished + 1, loops + int(loop))
    return out


def _table(response, key: str) -> dict:
    table = next(t for t in response.context["tables"] if t.key == key)
    return {row[0]: (row[1], row[2]) for row in table.rows}


def test_closed_loops_per_unit_and_street_match_the_cases(world, district_admin):
    _closed_loop_world(world)
    refresh_snapshots()  # the tables are read from the snapshots (console.models.CaseDaySnapshot)
    response = client_for(district_admin).get(f"/console/dashboard/?region={world.street.parent_id}")
    assert _table(response, "loops_unit") == _expected("unit_id", "unit")
    assert _table(response, "loops_street") == _expected("street_id", "street")
    assert _table(response, "loops_unit") == {"宝林一村物业": (2, 1), "友谊路城管中队": (3, 2), "吴淞城运中心网格": (1, 1)}
    assert _table(response, "loops_street") == {"友谊路街道": (5, 3), "吴淞街道": (1, 1)}
    page = response.content.decode()
    assert "诉求闭环 · 按责任单位" in page and "66.7%" in page
    # The officer of 友谊路 sees their street only; a neighborhood's staff their neighborhood.
    street = client_for(world.officer).get(f"/console/dashboard/?region={world.street.id}")
    assert _table(street, "loops_street") == {"友谊路街道": (5, 3)}
    neighborhood = client_for(world.staff).get(f"/console/dashboard/?region={world.neighborhood.id}")
    assert _table(neighborhood, "loops_unit") == {"宝林一村物业": (2, 1), "友谊路城管中队": (2, 1)}
    csv = client_for(world.officer).get(f"/console/dashboard/?region={world.street.id}&table=loops_unit&format=csv")
    assert csv.status_code == 200 and "宝林一村物业" in csv.content.decode("utf-8-sig")


def test_closed_loops_count_in_the_period_of_the_confirmation(world):
    _closed_loop_world(world)
    Case.objects.update(finished_at=timezone.now() - timedelta(days=200))
    refresh_snapshots()
    response = client_for(world.officer).get(f"/console/dashboard/?region={world.street.id}")
    assert _table(response, "loops_street") == {}


def test_closed_loops_follow_the_snapshot_refresh(world):
    """Read from the snapshots: a confirmation shows after the next refresh (every 10 minutes), not before."""
    matter = report(world, n=1)
    _answer(world, matter, world.property_worker)
    refresh_snapshots()
    Api(world.reporter).post(url(matter, "confirm"))
    client = client_for(world.officer)
    assert _table(client.get(f"/console/dashboard/?region={world.street.id}"), "loops_street") == {}
    refresh_snapshots()
    assert _table(client.get(f"/console/dashboard/?region={world.street.id}"), "loops_street") == {"友谊路街道": (1, 1)}
