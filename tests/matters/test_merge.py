"""Staff merge a later matter into an earlier open one of the same neighborhood: the merged
matter's reporter (and its 我也遇到 neighbors) become supporters of the other and hear its
answer; a timeline row on both; the merged matter cannot be reopened; bad merges are refused
in the one error shape."""

from __future__ import annotations

from tests.conftest import Api, assert_error
from tests.matters.conftest import created, url


def _two(world) -> tuple[dict, dict]:
    first = created(Api(world.reporter), world.repair)
    later = created(Api(world.neighbor), world.repair, text="5号楼路灯也不亮", insist=True)
    return first, later


def _kinds(api: Api) -> list[str]:
    return [n["kind"] for n in api.get("/api/v1/notifications").json()["results"]]


def test_merge_makes_the_later_reporter_a_supporter_who_hears_the_answer(world):
    first, later = _two(world)
    assert Api(world.outsider).get(url(later["id"])).status_code == 404
    staff = Api(world.staff)
    assert "merge" in staff.get(url(later["id"])).json()["allowed_actions"]

    body = staff.post(url(later["id"], "merge"), {"into": first["id"], "reason": "同一盏路灯"}).json()

    assert body["status"] == "merged" and body["merged_into"] == first["id"] and body["due_at"] is None
    assert body["timeline"][-1]["kind"] == "merged" and f"#{first['id']}" in body["timeline"][-1]["reason"]
    target = staff.get(url(first["id"])).json()
    assert target["supporters_count"] == 1 and target["timeline"][-1]["kind"] == "merged"
    assert f"#{later['id']}" in target["timeline"][-1]["reason"]
    neighbor = Api(world.neighbor)
    assert "case_update" in _kinds(neighbor)  # told where it went
    assert first["id"] in [m["id"] for m in neighbor.get("/api/v1/matters?scope=mine").json()["results"]]

    unit = Api(world.property_worker)
    unit.post(url(first["id"], "accept"))
    unit.post(url(first["id"], "resolve"), {"answer": "已更换灯泡"})
    answers = [n for n in neighbor.get("/api/v1/notifications").json()["results"] if "已答复" in n["title"]]
    assert len(answers) == 1 and "已更换灯泡" in answers[0]["body"]
    assert any("已答复" in n["title"] for n in Api(world.reporter).get("/api/v1/notifications").json()["results"])


def test_a_reporter_cannot_reopen_a_merged_matter(world):
    first, later = _two(world)
    Api(world.staff).post(url(later["id"], "merge"), {"into": first["id"]})
    error = assert_error(Api(world.neighbor).post(url(later["id"], "reopen"), {"reason": "还是不亮"}), 409, "matter_merged")
    assert error["detail"]["into"] == first["id"]
    assert_error(Api(world.reporter).post(url(later["id"], "plus-one")), 409, "matter_closed")
    # Merged once is final: merging it again is a state conflict.
    assert_error(Api(world.staff).post(url(later["id"], "merge"), {"into": first["id"]}), 409, "case_state_changed")


def test_bad_merges_are_refused(world):
    first, later = _two(world)
    staff = Api(world.staff)
    assert_error(staff.post(url(later["id"], "merge"), {"into": later["id"]}), 400, "merge_into_self")
    assert_error(staff.post(url(first["id"], "merge"), {"into": later["id"]}), 400, "merge_into_later")
    assert_error(staff.post(url(later["id"], "merge"), {"into": 10**9}), 400, "unknown_matter")
    sister = created(Api(world.sister_resident), world.parking, place="二村北门")
    assert_error(Api(world.officer).post(url(sister["id"], "merge"), {"into": first["id"]}), 400, "merge_other_neighborhood")
    # Only staff: the unit works the matter but does not merge.
    assert_error(Api(world.property_worker).post(url(later["id"], "merge"), {"into": first["id"]}), 403, "staff_only")
    assert_error(Api(world.reporter).post(url(later["id"], "merge"), {"into": first["id"]}), 403, "staff_only")
    # Into a closed matter.
    Api(world.property_worker).post(url(first["id"], "reject"), {"reason": "重复反映"})
    error = assert_error(staff.post(url(later["id"], "merge"), {"into": first["id"]}), 409, "merge_target_closed")
    assert error["detail"]["status"] == "rejected"
    assert staff.get(url(later["id"])).json()["status"] == "submitted"


def test_merging_into_an_answered_matter_passes_the_answer_on(world):
    first, later = _two(world)
    unit = Api(world.property_worker)
    unit.post(url(first["id"], "accept"))
    unit.post(url(first["id"], "resolve"), {"answer": "已更换灯泡"})
    assert Api(world.staff).post(url(later["id"], "merge"), {"into": first["id"]}).status_code == 200
    told = [n for n in Api(world.neighbor).get("/api/v1/notifications").json()["results"] if "合并" in n["title"]]
    assert len(told) == 1 and "已更换灯泡" in told[0]["body"]
