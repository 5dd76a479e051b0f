"""Transfers: to another unit with a reason, restarting the accept deadline; a loop (back to a
unit already in the chain without staff override, or straight back A→B→A) is 409 transfer_loop."""

from __future__ import annotations

from tests.conftest import Api, assert_error
from tests.matters.conftest import created, url


def _transfer(api: Api, matter_id: int, unit, reason: str = "不属于本单位职责", **extra):
    return api.post(url(matter_id, "transfer"), {"unit": unit.pk, "reason": reason, **extra})


def test_a_transfer_hands_it_over_and_the_new_unit_must_accept(world):
    matter = created(Api(world.reporter), world.repair)
    Api(world.property_worker).post(url(matter["id"], "accept"))
    body = _transfer(Api(world.property_worker), matter["id"], world.urban).json()
    assert body["status"] == "submitted" and body["unit"]["id"] == world.urban.pk
    event = body["timeline"][-1]
    assert event["kind"] == "transferred" and event["reason"] == "不属于本单位职责"
    assert (event["from_unit"]["id"], event["to_unit"]["id"]) == (world.property.pk, world.urban.pk)
    # the old unit still reads it but no longer acts on it; the new one has it in its queue and was told
    old = Api(world.property_worker)
    assert old.get(url(matter["id"])).json()["allowed_actions"] == []
    assert old.get("/api/v1/matters", {"scope": "queue"}).json()["results"] == []
    assert_error(old.post(url(matter["id"], "accept")), 403, "not_responsible_unit")
    urban = Api(world.urban_worker)
    assert [m["id"] for m in urban.get("/api/v1/matters", {"scope": "queue"}).json()["results"]] == [matter["id"]]
    assert urban.get("/api/v1/notifications").json()["results"][0]["kind"] == "case_assigned"
    assert urban.post(url(matter["id"], "accept")).json()["status"] == "accepted"


def test_a_transfer_needs_a_reason_and_a_unit_in_reach(world):
    matter = created(Api(world.reporter), world.repair)
    api = Api(world.property_worker)
    assert_error(_transfer(api, matter["id"], world.urban, reason=""), 400)
    assert_error(_transfer(api, matter["id"], world.other_grid), 400, "unknown_unit")
    assert_error(_transfer(api, matter["id"], world.property), 400, "same_unit")


def test_straight_back_is_a_loop_even_for_staff(world):
    matter = created(Api(world.reporter), world.repair)
    assert _transfer(Api(world.property_worker), matter["id"], world.committee).status_code == 200
    error = assert_error(_transfer(Api(world.committee_worker), matter["id"], world.property), 409, "transfer_loop")
    assert error["detail"]["chain"] == [world.property.pk, world.committee.pk]
    assert error["detail"]["override_allowed"] is False
    assert_error(_transfer(Api(world.staff), matter["id"], world.property, override=True), 409, "transfer_loop")


def test_back_to_a_unit_already_in_the_chain_needs_staff_override(world):
    matter = created(Api(world.reporter), world.repair)
    _transfer(Api(world.property_worker), matter["id"], world.committee)
    _transfer(Api(world.committee_worker), matter["id"], world.grid)
    error = assert_error(_transfer(Api(world.grid_worker), matter["id"], world.property), 409, "transfer_loop")
    assert error["detail"]["override_allowed"] is True
    # a unit member cannot override; staff of the neighborhood can
    assert_error(_transfer(Api(world.grid_worker), matter["id"], world.property, override=True), 409, "transfer_loop")
    body = _transfer(Api(world.officer), matter["id"], world.property, reason="经核实属物业职责", override=True).json()
    assert body["unit"]["id"] == world.property.pk


def test_an_answered_matter_cannot_be_transferred(world):
    matter = created(Api(world.reporter), world.repair)
    api = Api(world.property_worker)
    api.post(url(matter["id"], "accept"))
    api.post(url(matter["id"], "resolve"), {"answer": "已修复"})
    assert_error(_transfer(api, matter["id"], world.urban), 409, "case_state_changed")
