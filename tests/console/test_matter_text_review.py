"""诉求内容审核: matter text held for a person (a partner's filing, WeChat's review verdict) in
the staff member's neighborhoods; approve or reject with a reason, logged; region-scoped;
stale decisions change nothing; a fixed number of queries per page."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from console.models import MatterTextReview
from matters.models import Matter
from open311.keys import do_create_partner_key
from tests.conftest import Api
from tests.matters import conftest as matters_world
from tests.matters.conftest import created
from tests.open311.conftest import get, post_request
from tests.races import race

world = matters_world.world
standin = matters_world.standin

QUEUE = "/console/matters/review/"


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def partner(world):
    _, raw = do_create_partner_key(name="宝山12345平台", regions=[world.street], may_file=True)
    return raw


def partner_filing(world, partner, **fields) -> int:
    response = post_request(partner, service_code=world.repair.pk, **fields)
    assert response.status_code == 201, response.content
    return json.loads(response.content)[0]["service_request_id"]


def held_report(world, user=None, n: int = 0, item=None) -> int:
    """A resident's report WeChat (the stand-in) wants a person to review: 上访 is a review word."""
    body = created(Api(user or world.reporter), item or world.repair, text=f"{n}号楼要去上访", place=f"{n}号楼", insist=True)
    assert body["text_status"] == "pending_review"
    return body["id"]


def queued(response) -> list[int]:
    assert response.status_code == 200
    return [m.id for m in response.context["page"].object_list]


def decide(client, matter_id: int, decision: str, reason: str = ""):
    return client.post(f"{QUEUE}{matter_id}/", {"decision": decision, "reason": reason, "next": QUEUE})


def test_staff_see_held_text_of_their_neighborhoods_oldest_first(world, partner):
    filed = partner_filing(world, partner)
    held = held_report(world)
    created(Api(world.reporter), world.repair, place="7号楼", insist=True)  # published: not a queue item
    sister = held_report(world, world.sister_resident, n=2, item=world.parking)  # routed at the street
    staff = client_for(world.staff)
    response = staff.get(QUEUE)
    assert queued(response) == [filed, held]  # not the sister neighborhood's
    page = response.content.decode()
    assert "由合作系统「宝山12345平台」通过 Open311 提交" in page and "张三" in page
    assert "3号楼前路灯不亮" in page and 'href="/console/matters/review/"' in page  # the nav links it
    assert queued(client_for(world.officer).get(QUEUE)) == [filed, held, sister]  # the street
    assert queued(client_for(world.officer).get(f"{QUEUE}?neighborhood={world.sister.pk}")) == [sister]
    assert queued(client_for(world.other_officer).get(QUEUE)) == []


def test_approve_publishes_the_text_and_logs_it(world, partner):
    filed = partner_filing(world, partner)
    _, reader = do_create_partner_key(name="友谊路网格化系统", regions=[world.street], may_file=False)
    assert json.loads(get("/open311/v2/requests.json", api_key=reader).content) == []  # held: not shown
    staff = client_for(world.staff)
    response = decide(staff, filed, "approve")
    assert response.status_code == 302
    assert Matter.objects.get(pk=filed).text_status == "published"
    assert [r["service_request_id"] for r in json.loads(get("/open311/v2/requests.json", api_key=reader).content)] == [filed]
    log = MatterTextReview.objects.get()
    assert (log.matter_id, log.neighborhood_id, log.actor, log.decision, log.reason) == (
        filed, world.neighborhood.pk, world.staff, "approved", "")
    page = staff.get(QUEUE)
    assert queued(page) == [] and "审核通过" in page.content.decode() and "陈主任" in page.content.decode()


def test_reject_needs_a_reason_and_removes_the_text(world):
    held = held_report(world)
    staff = client_for(world.staff)
    response = decide(staff, held, "reject", "  ")
    assert response.status_code == 302
    assert Matter.objects.get(pk=held).text_status == "pending_review" and not MatterTextReview.objects.exists()
    assert "请填写不予公开的原因" in staff.get(QUEUE).content.decode()
    decide(staff, held, "reject", "含有与诉求无关的内容")
    matter = Matter.objects.get(pk=held)
    assert matter.text_status == "removed" and matter.case.status == "submitted"  # the unit still works it
    assert MatterTextReview.objects.get().reason == "含有与诉求无关的内容"
    assert "含有与诉求无关的内容" in staff.get(QUEUE).content.decode()
    # The reporter still sees their own matter.
    assert Api(world.reporter).get(f"/api/v1/matters/{held}").status_code == 200


def test_a_second_decision_is_refused_and_changes_nothing(world):
    held = held_report(world)
    decide(client_for(world.staff), held, "approve")
    officer = client_for(world.officer)
    decide(officer, held, "reject", "晚到的决定")
    assert Matter.objects.get(pk=held).text_status == "published"
    assert MatterTextReview.objects.count() == 1
    assert "该诉求内容已处理" in officer.get(QUEUE).content.decode()


def test_scope_other_streets_and_units_cannot_decide(world):
    held = held_report(world)
    assert decide(client_for(world.other_officer), held, "approve").status_code == 404
    sister_staff = matters_world.f.staff(world.sister, nickname="二村干部")
    assert decide(client_for(sister_staff), held, "approve").status_code == 404
    assert client_for(world.property_worker).get(QUEUE).status_code == 403  # unit members: the board only
    assert decide(client_for(world.property_worker), held, "approve").status_code == 403
    assert client_for(world.neighbor).get(QUEUE).status_code == 403
    assert Client().get(QUEUE).status_code == 302  # to the login page
    assert Matter.objects.get(pk=held).text_status == "pending_review" and not MatterTextReview.objects.exists()


def test_a_decision_needs_the_csrf_token(world):
    held = held_report(world)
    response = client_for(world.staff, enforce_csrf_checks=True).post(f"{QUEUE}{held}/", {"decision": "approve"})
    assert response.status_code == 403
    assert Matter.objects.get(pk=held).text_status == "pending_review"


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(QUEUE).status_code == 200
    return len(ctx.captured_queries)


def test_the_queue_costs_the_same_for_2_and_8_matters(world, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "matter": "100/min"}}
    staff = client_for(world.staff)
    for n in range(2):
        decide(staff, held_report(world, n=n), "approve")
        held_report(world, n=n + 10)
    few = _queries(staff)
    for n in range(2, 8):
        decide(staff, held_report(world, n=n), "reject", "无关内容")
        held_report(world, n=n + 10)
    assert _queries(staff) == few


@pytest.mark.django_db(transaction=True)
def test_two_staff_deciding_one_held_text_at_once_make_one_decision(world):
    held = held_report(world)
    staff, officer = client_for(world.staff), client_for(world.officer)
    race([lambda: decide(staff, held, "approve"), lambda: decide(officer, held, "reject", "无关内容")])
    log = MatterTextReview.objects.get()  # one decision, and the matter holds what it decided
    assert Matter.objects.get(pk=held).text_status == ("published" if log.decision == "approved" else "removed")
