"""会办 (joint handling): the unit handling a matter asks other units to join with a reason; the
joined units see it in their queue and add their part to the timeline, the lead unit answers.
Every refusal in the one error shape."""

from __future__ import annotations

from cases.models import CaseEvent, CaseJoint
from tests.conftest import Api, assert_error
from tests.matters.conftest import created, url


def _joint(api: Api, matter_id: int, *units, reason: str = "涉及占道施工，请城管协助"):
    return api.post(url(matter_id, "joint"), {"units": [u.pk for u in units], "reason": reason})


def test_the_lead_asks_units_to_join_they_see_it_add_notes_and_the_lead_answers(world):
    matter = created(Api(world.reporter), world.repair)
    lead, urban, grid = Api(world.property_worker), Api(world.urban_worker), Api(world.grid_worker)
    assert "joint" in lead.get(url(matter["id"])).json()["allowed_actions"]
    assert urban.get(url(matter["id"])).status_code == 404  # not theirs before they are asked

    body = _joint(lead, matter["id"], world.urban, world.grid).json()
    assert [u["id"] for u in body["joint_units"]] == [world.urban.pk, world.grid.pk]
    asked = [e for e in body["timeline"] if e["kind"] == "joint_requested"]
    assert [e["to_unit"]["id"] for e in asked] == [world.urban.pk, world.grid.pk]
    assert asked[0]["reason"] == "涉及占道施工，请城管协助" and asked[0]["from_unit"]["id"] == world.property.pk
    assert body["status"] == "submitted"  # joining changes neither status nor deadline

    # The joined unit: in its queue, the full view, its inbox; it may add a note, not answer.
    queue = urban.get("/api/v1/matters", {"scope": "queue"}).json()["results"]
    assert [m["id"] for m in queue] == [matter["id"]]
    assert [m["id"] for m in grid.get("/api/v1/matters", {"scope": "queue"}).json()["results"]] == [matter["id"]]
    seen = urban.get(url(matter["id"])).json()
    assert seen["latitude"] is not None and seen["reporter_name"] == "张三"
    assert seen["allowed_actions"] == ["joint_note"]
    assert [n["title"] for n in urban.get("/api/v1/notifications").json()["results"]] == ["请协助会办诉求"]
    assert_error(urban.post(url(matter["id"], "accept")), 403, "not_responsible_unit")

    noted = urban.post(url(matter["id"], "joint-notes"), {"text": "已安排周三拆除占道施工围挡"}).json()
    note = noted["timeline"][-1]
    assert note["kind"] == "joint_note" and note["from_unit"]["id"] == world.urban.pk
    assert note["reason"] == "已安排周三拆除占道施工围挡" and note["actor_name"] == "城管队员"
    assert "城管中队已反馈会办意见" in lead.get("/api/v1/notifications").json()["results"][0]["title"]

    lead.post(url(matter["id"], "accept"))
    assert lead.post(url(matter["id"], "resolve"), {"answer": "已修好"}).json()["status"] == "resolved"
    # Once answered: no more joining, no more notes.
    assert_error(_joint(lead, matter["id"], world.committee), 409, "case_state_changed")
    assert_error(urban.post(url(matter["id"], "joint-notes"), {"text": "补充"}), 409, "case_state_changed")
    # The reporter sees who joined and what they said, without names of the people.
    public = Api(world.neighbor).get(url(matter["id"])).json()
    assert [u["name"] for u in public["joint_units"]] == ["友谊路城管中队", "友谊路城运中心网格"]
    assert all(e["actor_name"] is None for e in public["timeline"])


def test_refusals_are_in_the_one_shape(world):
    matter = created(Api(world.reporter), world.repair)
    lead = Api(world.property_worker)
    # A unit out of reach (another street's), a missing one: nothing is written.
    error = assert_error(_joint(lead, matter["id"], world.urban, world.other_grid), 400, "unknown_unit")
    assert error["detail"]["units"] == [world.other_grid.pk]
    assert not CaseJoint.objects.exists()
    world.committee.is_active = False
    world.committee.save()
    assert_error(_joint(lead, matter["id"], world.committee), 400, "unknown_unit")
    assert_error(lead.post(url(matter["id"], "joint"), {"units": [2**31], "reason": "请协助"}), 400, "unknown_unit")
    assert_error(_joint(lead, matter["id"], world.property), 400, "same_unit")
    assert_error(_joint(lead, matter["id"], world.urban, reason=""), 400)
    assert_error(lead.post(url(matter["id"], "joint"), {"units": [], "reason": "请协助"}), 400)
    # Only the lead (or staff) asks; a neighbor cannot.
    assert_error(_joint(Api(world.neighbor), matter["id"], world.urban), 403, "not_responsible_unit")
    assert_error(_joint(Api(world.urban_worker), matter["id"], world.grid), 404, "matter_not_found")
    # Already joined: 409 naming the unit; staff may ask others.
    assert _joint(lead, matter["id"], world.urban).status_code == 200
    error = assert_error(_joint(Api(world.staff), matter["id"], world.grid, world.urban), 409, "already_joined")
    assert error["detail"]["units"] == [world.urban.pk]
    assert CaseJoint.objects.count() == 1  # all or none
    assert _joint(Api(world.staff), matter["id"], world.grid).status_code == 200
    # Notes: only a joined unit's people; not the lead, not a neighbor; text required.
    assert_error(lead.post(url(matter["id"], "joint-notes"), {"text": "我们也说一句"}), 403, "not_joined_unit")
    assert_error(Api(world.reporter).post(url(matter["id"], "joint-notes"), {"text": "x"}), 403, "not_joined_unit")
    assert_error(Api(world.urban_worker).post(url(matter["id"], "joint-notes"), {"text": ""}), 400)
    assert CaseEvent.objects.filter(kind="joint_note").count() == 0


def test_a_rejected_or_closed_matter_cannot_be_joined(world):
    matter = created(Api(world.reporter), world.repair)
    lead = Api(world.property_worker)
    lead.post(url(matter["id"], "reject"), {"reason": "不属于物业"})
    error = assert_error(_joint(lead, matter["id"], world.urban), 409, "case_state_changed")
    assert error["detail"]["status"] == "rejected"


def test_a_joined_unit_keeps_reading_after_a_transfer_and_the_new_lead_may_ask_more(world):
    matter = created(Api(world.reporter), world.repair)
    lead = Api(world.property_worker)
    _joint(lead, matter["id"], world.urban)
    lead.post(url(matter["id"], "transfer"), {"unit": world.committee.pk, "reason": "属居委协调"})
    committee = Api(world.committee_worker)
    assert _joint(committee, matter["id"], world.grid).status_code == 200
    assert_error(_joint(committee, matter["id"], world.urban), 409, "already_joined")
    assert Api(world.urban_worker).post(url(matter["id"], "joint-notes"), {"text": "已处理"}).status_code == 200
