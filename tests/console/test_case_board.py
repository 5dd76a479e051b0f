"""案件总台: one board over the case engine's matters and service requests — scope per region and
unit (another street's officer sees nothing), filters, sorting, paging, deadlines, links to each
kind's page, the live row and counts endpoints, and a fixed number of queries per page."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case
from notifications.models import Event
from services.models import ServiceRequest
from tests import factories as f
from tests.conftest import Api
from tests.console.test_dispatch_board import make_item
from tests.console.test_matters_board import client_for, make_overdue, report
from tests.matters import conftest as matters_world
from tests.matters.conftest import created

world = matters_world.world
standin = matters_world.standin

BOARD = "/console/cases/"


def request_for_service(world) -> ServiceRequest:
    """A one-tap request through the API, so it has its case on the engine (services/actions/case_mirror.py)."""
    f.BeneficiaryFactory(owner=world.neighbor, neighborhood=world.neighborhood, name="王阿婆", birth_year=1938,
                         is_default=True)
    response = Api(world.neighbor).post("/api/v1/service-requests", {"item": make_item().id})
    assert response.status_code == 201, response.content[:300]
    req = ServiceRequest.objects.get(pk=response.json()["id"])
    assert req.case_id is not None
    return req


def shown(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    return [row["case"].id for row in response.context["rows"]]


def case_of_matter(matter_id: int) -> int:
    return Case.objects.get(matter__id=matter_id).pk


def test_staff_see_both_kinds_of_their_region_each_linking_to_its_own_page(world):
    matter = report(world, n=1)
    req = request_for_service(world)
    for user in (world.officer, world.staff):
        response = client_for(user).get(BOARD)
        assert set(shown(response)) == {case_of_matter(matter), req.case_id}
        html = response.content.decode()
        assert f'href="/console/matters/{matter}/"' in html and f'href="/console/dispatch/{req.pk}/"' in html
        assert "诉求" in html and "为老服务" in html
        assert "王阿婆" not in html  # the board shows what is asked, not who for
    kinds = {row["case"].kind: row for row in client_for(world.officer).get(BOARD).context["rows"]}
    assert kinds["matter"]["ref"]["title"] == "设施报修 / 路灯不亮"
    assert kinds["service_request"]["ref"]["title"] == "助餐 / 送餐上门"


def test_a_staff_member_of_another_street_sees_nothing_and_reaches_nothing(world):
    matter = report(world, n=1)
    req = request_for_service(world)
    client = client_for(world.other_officer)
    response = client.get(BOARD)
    assert shown(response) == []
    assert response.context["counts"] == {"submitted": 0, "accepted": 0, "resolved": 0, "overdue": 0}
    assert client.get(f"{BOARD}{case_of_matter(matter)}/row/").status_code == 404
    assert client.get(f"{BOARD}{req.case_id}/row/").status_code == 404
    assert client.get(f"{BOARD}service-request/{req.pk}/row/").status_code == 404
    assert client.get(f"{BOARD}counts/").json() == {"submitted": 0, "accepted": 0, "resolved": 0, "overdue": 0}
    assert client.get(f"{BOARD}?unit={world.property.pk}").status_code == 404  # not a unit of theirs to open


def test_a_unit_sees_only_its_own_cases_and_no_service_requests(world):
    mine = report(world, n=1)  # 设施报修 → the neighborhood's 物业
    theirs = report(world, world.parking, n=2)  # 违章停车 → the street's 城管
    request_for_service(world)  # on the 居委 unit, whose member is not staff
    assert shown(client_for(world.property_worker).get(BOARD)) == [case_of_matter(mine)]
    assert shown(client_for(world.urban_worker).get(BOARD)) == [case_of_matter(theirs)]
    # The 居委 unit's member who holds no staff role: service requests are staff's (派单台), as in services.access.
    committee = client_for(world.committee_worker)
    assert shown(committee.get(BOARD)) == []
    assert 'value="service_request"' not in committee.get(BOARD).content.decode()  # the kind filter does not offer it
    assert client_for(world.property_worker).get(f"{BOARD}{case_of_matter(theirs)}/row/").status_code == 404
    # The supervising unit (the 居委 above the 物业) sees the case once it is escalated to it.
    Case.objects.filter(matter__id=mine).update(supervising_unit=world.committee)
    assert shown(committee.get(BOARD)) == [case_of_matter(mine)]


def test_overdue_first_then_the_nearest_deadline_with_marks_and_counts(world):
    first, second = report(world, n=1), report(world, n=2)
    parking = report(world, world.parking, n=3)
    req = request_for_service(world)
    make_overdue(second, hours=3)
    Case.objects.filter(pk=req.case_id).update(due_at=timezone.now() - timedelta(hours=1))
    response = client_for(world.officer).get(BOARD)
    assert shown(response) == [case_of_matter(second), req.case_id, case_of_matter(parking), case_of_matter(first)]
    assert response.context["counts"] == {"submitted": 4, "accepted": 0, "resolved": 0, "overdue": 2}
    rows = response.context["rows"]
    assert [r["overdue"] for r in rows] == [True, True, False, False]
    assert rows[0]["deadline"] == "deadline-overdue" and rows[2]["deadline"] == "deadline-soon"  # 1 h to accept
    html = response.content.decode()
    assert html.count("已超时</td>") == 2 and html.count('class="is-overdue"') == 2


def test_filters_kind_status_overdue_neighborhood_and_unit(world):
    matter = report(world, n=1)
    parking = report(world, world.parking, n=2)
    req = request_for_service(world)
    sister = created(Api(world.sister_resident), world.parking, place="二村3号楼", insist=True)["id"]
    make_overdue(parking)
    officer = client_for(world.officer)
    assert shown(officer.get(BOARD + "?kind=service_request")) == [req.case_id]
    assert set(shown(officer.get(BOARD + "?kind=matter"))) == {case_of_matter(m) for m in (matter, parking, sister)}
    assert shown(officer.get(BOARD + "?overdue=true")) == [case_of_matter(parking)]
    assert shown(officer.get(f"{BOARD}?neighborhood={world.sister.id}")) == [case_of_matter(sister)]
    assert shown(officer.get(f"{BOARD}?unit={world.urban.id}")) == [case_of_matter(parking), case_of_matter(sister)]
    assert officer.get(f"{BOARD}?unit={world.urban.id}").context["counts"]["submitted"] == 2
    Case.objects.filter(pk=req.case_id).update(status=Case.Status.ACCEPTED)
    assert shown(officer.get(BOARD + "?status=accepted")) == [req.case_id]
    assert shown(officer.get(BOARD + "?status=closed")) == []
    assert shown(officer.get(BOARD + "?kind=nonsense&status=nonsense")) == shown(officer.get(BOARD))


def test_sorting_by_a_listed_column_and_paging_shows_every_row_once(world):
    now = timezone.now()
    cases = Case.objects.bulk_create(
        Case(kind="matter", unit=world.property, unit_chain=[world.property.pk], neighborhood=world.neighborhood,
             street=world.street, accept_hours=1, resolve_hours=2, accept_due_at=now + timedelta(hours=i),
             resolve_due_at=now + timedelta(hours=i + 2), due_at=now + timedelta(hours=i % 5))
        for i in range(23)
    )
    officer = client_for(world.officer)
    first = officer.get(BOARD + "?sort=-id&per_page=20")
    second = officer.get(BOARD + "?sort=-id&per_page=20&page=2")
    assert shown(first) + shown(second) == sorted((c.pk for c in cases), reverse=True)
    by_due = shown(officer.get(BOARD + "?sort=due&per_page=100"))
    assert sorted(by_due) == sorted(c.pk for c in cases) and len(set(by_due)) == 23
    assert [Case.objects.get(pk=i).due_at for i in by_due] == sorted(c.due_at for c in cases)
    # An unknown key is the default order (no request value reaches order_by).
    assert shown(officer.get(BOARD + "?sort=reporter__phone&per_page=100")) == shown(officer.get(BOARD + "?per_page=100"))


def add_cases(world, n: int) -> None:
    """`n` bare matter cases at the 物业, due now (no matter rows: enough for a list's cost)."""
    now = timezone.now()
    Case.objects.bulk_create(
        Case(kind="matter", unit=world.property, unit_chain=[world.property.pk], neighborhood=world.neighborhood,
             street=world.street, accept_hours=1, resolve_hours=2, accept_due_at=now, resolve_due_at=now, due_at=now)
        for _ in range(n)
    )


def test_a_page_costs_the_same_queries_for_5_rows_as_for_40(world):
    report(world, n=1)
    request_for_service(world)
    add_cases(world, 3)
    officer = client_for(world.officer)
    officer.get(BOARD)  # session and caches warm

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert officer.get(BOARD).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    add_cases(world, 35)
    assert count() == few


def test_the_live_row_answers_only_for_a_case_the_page_would_list(world):
    matter = report(world, n=1)
    req = request_for_service(world)
    officer = client_for(world.officer)
    case_id = case_of_matter(matter)
    row = officer.get(f"{BOARD}{case_id}/row/?match=1")
    assert row.status_code == 200 and f'data-case="{case_id}"' in row.content.decode() and "is-new" in row.content.decode()
    assert officer.get(f"{BOARD}{case_id}/row/?match=1&kind=service_request").status_code == 204
    assert officer.get(f"{BOARD}{case_id}/row/?match=0&kind=service_request").status_code == 200  # a redraw
    by_request = officer.get(f"{BOARD}service-request/{req.pk}/row/?match=1&kind=service_request")
    assert by_request.status_code == 200 and f'data-ref="service_request:{req.pk}"' in by_request.content.decode()
    assert officer.get(f"{BOARD}counts/?kind=service_request").json() == {
        "submitted": 1, "accepted": 0, "resolved": 0, "overdue": 0
    }


def test_case_frames_reach_the_neighborhoods_committee_staff_stream(world):
    matter = report(world, n=1)
    case_id = case_of_matter(matter)
    streams = set(Event.objects.filter(type="case.created", payload__case_id=case_id).values_list("stream", flat=True))
    assert {f"staff.neighborhood.{world.neighborhood.pk}", f"staff.street.{world.street.pk}",
            f"unit.{world.property.pk}"} <= streams


def test_the_board_listens_on_the_staff_streams_and_the_users_units(world):
    officer = client_for(world.officer).get(BOARD)
    assert officer.context["realtime_streams"] == [f"staff.street.{world.street.pk}"]
    staff = client_for(world.staff).get(BOARD)
    assert staff.context["realtime_streams"] == [f"staff.neighborhood.{world.neighborhood.pk}"]
    unit = client_for(world.property_worker).get(BOARD)
    assert unit.context["realtime_streams"] == [f"unit.{world.property.pk}"]
    # A unit member who is not staff may take the socket's token too.
    assert client_for(world.property_worker).post("/console/realtime-token/").status_code == 200
