"""诉求办理 in the console: the board per unit (scope, filters, overdue first, fixed query count)
and the unit's moves on the detail page, through the same case actions as the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case, CaseEvent
from tests.conftest import Api
from tests.console.conftest import PASSWORD, with_password
from tests.matters import conftest as matters_world
from tests.matters.conftest import created

# The matters tests' world (units, routing, categories) and WeChat stand-in, as fixtures here.
world = matters_world.world
standin = matters_world.standin

BOARD = "/console/matters/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report(world, item=None, n: int = 0, **overrides) -> int:
    return created(Api(world.reporter), item or world.repair, place=f"{n}号楼门口", insist=True, **overrides)["id"]


@pytest.fixture
def many_reports(settings):
    """One resident files more reports than THROTTLE_MATTER lets a person file in a minute."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "matter": "100/min"}}


def make_overdue(matter_id: int, hours: int = 2) -> None:
    Case.objects.filter(matter__id=matter_id).update(due_at=timezone.now() - timedelta(hours=hours))


def shown(response) -> list[int]:
    return [row["m"].id for row in response.context["rows"]]


def test_a_unit_member_logs_in_and_lands_on_the_board_of_their_unit(world):
    with_password(world.property_worker)
    world.property_worker.username = "wangjingli"
    world.property_worker.save(update_fields=["username"])
    mine, other = report(world, n=1), report(world, world.parking, n=2)
    client = Client()
    response = client.post("/console/login/", {"username": "wangjingli", "password": PASSWORD})
    assert response.status_code == 302
    response = client.get("/console/", follow=True)
    assert response.redirect_chain[-1][0].endswith(BOARD)
    assert shown(response) == [mine]
    assert "诉求办理" in response.content.decode() and "派单台" not in response.content.decode()
    assert client.get(f"{BOARD}{other}/").status_code == 404  # routed to 城管, not theirs
    assert client.get("/console/dispatch/").status_code == 403
    assert client.get("/console/matters/map/").status_code == 403


def test_overdue_first_then_the_nearest_deadline_and_the_filters(world):
    first, second, third = (report(world, n=i) for i in range(3))
    parking = report(world, world.parking, n=9)
    make_overdue(third, hours=1)
    make_overdue(second, hours=5)
    response = client_for(world.officer).get(BOARD)
    assert shown(response) == [second, third, parking, first]  # parking's 1 h accept deadline before repair's 12 h
    assert response.context["counts"] == {"submitted": 4, "accepted": 0, "resolved": 0, "overdue": 2}
    assert shown(client_for(world.officer).get(BOARD + "?overdue=true")) == [second, third]
    assert shown(client_for(world.officer).get(f"{BOARD}?unit={world.urban.id}")) == [parking]
    assert shown(client_for(world.officer).get(f"{BOARD}?category={world.repair.category_id}")) == [second, third, first]
    page = client_for(world.officer).get(BOARD).content.decode()
    assert 'class="is-overdue"' in page and "已超时" in page


def test_scope_other_streets_units_and_matters_are_404(world):
    matter = report(world, n=1)
    other = client_for(world.other_officer)
    assert other.get(f"{BOARD}{matter}/").status_code == 404
    assert other.get(f"{BOARD}?unit={world.property.id}").status_code == 404
    assert other.post(f"{BOARD}{matter}/accept/").status_code == 404
    assert shown(other.get(BOARD)) == []
    assert Case.objects.get(matter__id=matter).status == Case.Status.SUBMITTED
    # A unit member sees only their unit's queue and units.
    worker = client_for(world.urban_worker)
    assert worker.get(f"{BOARD}{matter}/").status_code == 404
    assert worker.get(f"{BOARD}?unit={world.property.id}").status_code == 404
    # A resident who is neither staff nor in a unit may not use the console.
    assert client_for(world.reporter).get(BOARD).status_code == 403


def test_committee_staff_see_their_neighborhoods_units_only(world):
    sister_matter = created(Api(world.sister_resident), world.parking, place="二村大门")["id"]
    staff = client_for(world.staff)
    assert {u.id for u in staff.get(BOARD).context["units"]} == {world.property.id, world.committee.id}
    assert staff.get(f"{BOARD}{sister_matter}/").status_code == 404
    assert staff.get(f"{BOARD}?unit={world.urban.id}").status_code == 404


def test_accept_answer_through_the_case_engine(world):
    matter = report(world, n=1)
    client = client_for(world.property_worker)
    page = client.get(f"{BOARD}{matter}/").content.decode()
    assert 'data-action="accept"' in page and 'data-action="transfer"' in page and 'data-action="resolve"' not in page
    response = client.post(f"{BOARD}{matter}/accept/", {"from_status": "submitted"}, follow=True)
    assert "已受理" in response.content.decode()
    response = client.post(f"{BOARD}{matter}/resolve/", {"answer": "已更换灯泡"}, follow=True)
    case = Case.objects.get(matter__id=matter)
    assert (case.status, case.answer) == (Case.Status.RESOLVED, "已更换灯泡")
    kinds = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))
    assert kinds == ["submitted", "accepted", "resolved"]
    assert "已更换灯泡" in response.content.decode()  # the timeline shows the answer


def test_a_stale_accept_and_a_missing_reason_change_nothing(world):
    matter = report(world, n=1)
    client = client_for(world.property_worker)
    client.post(f"{BOARD}{matter}/accept/", {"from_status": "submitted"})
    response = client.post(f"{BOARD}{matter}/accept/", {"from_status": "submitted"}, follow=True)
    assert "状态已变化" in response.content.decode()
    response = client.post(f"{BOARD}{matter}/transfer/", {"unit": world.committee.id, "reason": " "}, follow=True)
    assert "请填写转办原因" in response.content.decode()
    case = Case.objects.get(matter__id=matter)
    assert (case.status, case.unit_id) == (Case.Status.ACCEPTED, world.property.id)
    assert client.post(f"{BOARD}{matter}/delete/").status_code == 404


def test_transfer_and_reject_with_reasons(world):
    matter = report(world, n=1)
    client = client_for(world.property_worker)
    response = client.post(f"{BOARD}{matter}/transfer/", {"unit": world.committee.id, "reason": "属公共区域"})
    assert response.status_code == 302 and response["Location"] == BOARD
    case = Case.objects.get(matter__id=matter)
    assert case.unit_id == world.committee.id
    assert CaseEvent.objects.get(case=case, kind="transferred").reason == "属公共区域"
    assert client.get(f"{BOARD}{matter}/").status_code == 404  # no longer the property's
    committee = client_for(world.committee_worker)
    committee.post(f"{BOARD}{matter}/reject/", {"reason": "不属于本辖区职责"})
    case.refresh_from_db()
    assert (case.status, case.reject_reason) == (Case.Status.REJECTED, "不属于本辖区职责")


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_board_costs_the_same_for_3_and_15_matters(world, many_reports):
    client = client_for(world.officer)
    for n in range(3):
        report(world, n=n)
    few = _queries(client, BOARD)
    for n in range(3, 15):
        report(world, n=n)
    assert _queries(client, BOARD) == few
    unit_client = client_for(world.property_worker)
    assert _queries(unit_client, f"{BOARD}?unit={world.property.id}") <= few + 1
