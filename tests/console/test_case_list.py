"""GET /api/v1/cases and /api/v1/cases/counts: 案件总台 over the API. The same rows, scope and
filters as the console board (tests/console/test_case_board.py), as JSON over HTTP: both kinds
for a region's staff, a unit its own matters only, nothing for another street, the overdue first,
every row once across cursor pages, bad filters a 400 in the one error shape, residents 403,
and a fixed number of queries per page."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case
from tests.conftest import Api, assert_error
from tests.console.test_case_board import add_cases, case_of_matter, request_for_service
from tests.console.test_matters_board import make_overdue, report
from tests.matters import conftest as matters_world

world = matters_world.world
standin = matters_world.standin

URL = "/api/v1/cases"


def listed(user, **params) -> list[int]:
    response = Api(user).get(URL, params)
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def test_staff_list_both_kinds_each_naming_its_own_object_without_personal_data(world):
    matter = report(world, n=1)
    req = request_for_service(world)
    make_overdue(matter, hours=2)
    for user in (world.officer, world.staff):
        response = Api(user).get(URL)
        assert response.status_code == 200
        rows = {row["kind"]: row for row in response.json()["results"]}
        assert set(rows) == {"matter", "service_request"}
    row, service = rows["matter"], rows["service_request"]
    assert (row["id"], row["ref_id"], row["title"], row["kind_label"]) == (case_of_matter(matter), matter, "设施报修 / 路灯不亮", "诉求")
    assert row["overdue"] is True and row["due_at"].endswith("+08:00") and row["unit"]["id"] == world.property.pk
    assert row["neighborhood"] == {"id": world.neighborhood.pk, "name": world.neighborhood.name}
    assert (service["id"], service["ref_id"], service["title"]) == (req.case_id, req.pk, "助餐 / 送餐上门")
    assert service["overdue"] is False and service["status_label"] == "待受理"
    # The overdue matter leads; the body carries what is asked, not who for.
    assert [r["kind"] for r in response.json()["results"]] == ["matter", "service_request"]
    assert "王阿婆" not in response.content.decode()
    # The row's ref_id opens the kind's own detail, where the moves are.
    assert Api(world.officer).get(f"/api/v1/matters/{row['ref_id']}").status_code == 200
    assert Api(world.officer).get(f"/api/v1/service-requests/{service['ref_id']}").status_code == 200


def test_scope_is_the_boards_another_street_nothing_a_unit_its_own_residents_refused(world):
    mine = report(world, n=1)  # 设施报修 → the neighborhood's 物业
    theirs = report(world, world.parking, n=2)  # 违章停车 → the street's 城管
    request_for_service(world)
    assert listed(world.other_officer) == []
    assert Api(world.other_officer).get(f"{URL}/counts").json() == {"submitted": 0, "accepted": 0, "resolved": 0, "overdue": 0}
    assert listed(world.property_worker) == [case_of_matter(mine)]
    assert listed(world.urban_worker) == [case_of_matter(theirs)]
    assert listed(world.committee_worker) == []  # a 居委 unit member without a staff role: no service requests
    assert_error(Api(world.reporter).get(URL), 403, "case_staff_only")
    assert_error(Api(world.reporter).get(f"{URL}/counts"), 403, "case_staff_only")
    assert Api(None).get(URL).status_code == 401
    # A unit the caller may not filter by is not found, as on the board.
    assert_error(Api(world.other_officer).get(URL, {"unit": world.property.pk}), 404, "unit_not_found")


def test_filters_counts_and_bad_input(world):
    matter = report(world, n=1)
    parking = report(world, world.parking, n=2)
    req = request_for_service(world)
    make_overdue(parking)
    officer = world.officer
    assert listed(officer, kind="service_request") == [req.case_id]
    assert set(listed(officer, kind="matter")) == {case_of_matter(matter), case_of_matter(parking)}
    assert listed(officer, overdue="true") == [case_of_matter(parking)]
    assert listed(officer, unit=world.urban.pk) == [case_of_matter(parking)]
    assert listed(officer, neighborhood=world.sister.pk) == []
    Case.objects.filter(pk=req.case_id).update(status=Case.Status.ACCEPTED)
    assert listed(officer, status="accepted") == [req.case_id]
    assert set(listed(officer, status=["accepted", "submitted"])) == {req.case_id, case_of_matter(matter), case_of_matter(parking)}
    counts = Api(officer).get(f"{URL}/counts").json()
    assert counts == {"submitted": 2, "accepted": 1, "resolved": 0, "overdue": 1}
    assert Api(officer).get(f"{URL}/counts", {"kind": "matter"}).json()["accepted"] == 0
    for bad in ({"kind": "nonsense"}, {"status": "nonsense"}, {"unit": "x"}, {"neighborhood": "-1"}, {"overdue": "maybe"}):
        response = Api(officer).get(URL, bad)
        assert_error(response, 400, "invalid_filter")
        assert response.json()["error"]["detail"]["field"] == next(iter(bad)), response.json()
    assert_error(Api(officer).get(URL, {"limit": "0"}), 400, "invalid_limit")
    assert_error(Api(officer).get(URL, {"cursor": "garbage"}), 400, "invalid_cursor")


def test_cursor_pages_show_every_row_once_deadlines_first_then_none(world):
    now = timezone.now()
    Case.objects.bulk_create(
        Case(kind="matter", unit=world.property, unit_chain=[world.property.pk], neighborhood=world.neighborhood,
             street=world.street, accept_hours=1, resolve_hours=2, accept_due_at=now, resolve_due_at=now,
             due_at=None if i % 4 == 0 else now + timedelta(hours=i % 5 - 2),
             status=Case.Status.RESOLVED if i % 4 == 0 else Case.Status.SUBMITTED)
        for i in range(23)
    )
    api, seen, cursor = Api(world.officer), [], None
    while True:
        page = api.get(URL, {"limit": 5, **({"cursor": cursor} if cursor else {})}).json()
        seen += page["results"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = [row["id"] for row in seen]
    assert len(ids) == len(set(ids)) == 23
    dues = [row["due_at"] for row in seen]
    running = [d for d in dues if d is not None]
    assert dues == running + [None] * (23 - len(running)) and running == sorted(running)
    assert [row["overdue"] for row in seen[:5]] == [True] * 5  # two hours late first


def test_a_page_costs_the_same_queries_for_5_rows_as_for_40(world):
    report(world, n=1)
    request_for_service(world)
    add_cases(world, 3)
    api = Api(world.officer)
    api.get(URL)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(URL, {"limit": 50}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    add_cases(world, 35)
    assert count() == few
