"""我也遇到: a report at the same place and category as an open matter answers with the
candidate instead of a duplicate unless the resident insists; +1 follows it, and the
answer reaches every supporter."""

from __future__ import annotations

from matters.models import Matter
from tests.conftest import Api, assert_error
from tests.matters.conftest import created, report, url


def test_the_same_place_and_category_answers_with_the_open_matter(world):
    first = created(Api(world.reporter), world.repair)
    error = assert_error(report(Api(world.neighbor), world.repair, text="路灯不亮"), 409, "similar_matter_open")
    assert [c["id"] for c in error["detail"]["candidates"]] == [first["id"]]
    assert Matter.objects.count() == 1
    # within 50 m with another place text is the same place too; 100 m away is not
    near = report(Api(world.neighbor), world.repair, place="五号楼旁", latitude="31.345200", longitude="121.445100")
    assert_error(near, 409, "similar_matter_open")
    far = created(Api(world.neighbor), world.repair, place="北门", latitude="31.346000", longitude="121.445000")
    assert far["id"] != first["id"]
    # another category at the same place is not a duplicate
    created(Api(world.neighbor), world.parking)


def test_insisting_makes_a_new_matter(world):
    first = created(Api(world.reporter), world.repair)
    second = created(Api(world.neighbor), world.repair, insist=True)
    assert second["id"] != first["id"]


def test_a_closed_matter_is_no_candidate(world):
    first = created(Api(world.reporter), world.repair)
    Api(world.property_worker).post(url(first["id"], "reject"), {"reason": "重复"})
    created(Api(world.neighbor), world.repair)


def test_plus_one_follows_the_matter_and_hears_the_answer(world):
    matter = created(Api(world.reporter), world.repair)
    neighbor = Api(world.neighbor)
    body = neighbor.post(url(matter["id"], "plus-one")).json()
    assert body["supporters_count"] == 1 and body["timeline"][-1]["kind"] == "supported"
    assert_error(neighbor.post(url(matter["id"], "plus-one")), 409, "already_supported")
    assert_error(Api(world.reporter).post(url(matter["id"], "plus-one")), 400, "own_matter")
    assert_error(Api(world.sister_resident).post(url(matter["id"], "plus-one")), 404)
    assert_error(Api(world.staff).post(url(matter["id"], "plus-one")), 400, "not_a_neighbor")
    Api(world.property_worker).post(url(matter["id"], "accept"))
    Api(world.property_worker).post(url(matter["id"], "resolve"), {"answer": "已修复"})
    assert [n["kind"] for n in neighbor.get("/api/v1/notifications").json()["results"]] == ["case_update"]
    # the supporter follows it, but the verdict is the reporter's
    assert_error(neighbor.post(url(matter["id"], "confirm")), 403, "reporter_only")
    Api(world.reporter).post(url(matter["id"], "confirm"))
    assert_error(Api(world.neighbor).post(url(matter["id"], "plus-one")), 409, "matter_closed")
