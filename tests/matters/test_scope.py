"""Who sees what: residents their own and their neighborhood's public matters (no personal
data), units what is routed to them, staff their region; everyone else 404."""

from __future__ import annotations

from tests.conftest import Api, assert_error
from tests.matters.conftest import created, url


def test_outside_the_scope_is_404_exactly_like_a_missing_matter(world):
    matter = created(Api(world.reporter), world.repair)
    for user in (world.sister_resident, world.outsider, world.other_officer, world.urban_worker):
        assert_error(Api(user).get(url(matter["id"])), 404, "matter_not_found")
        assert_error(Api(user).post(url(matter["id"], "accept"), {}), 404, "matter_not_found")
    assert_error(Api(world.reporter).get(url(999999)), 404, "matter_not_found")


def test_a_neighbor_sees_progress_without_personal_data(world):
    matter = created(Api(world.reporter), world.repair, hide_name=True)
    body = Api(world.neighbor).get(url(matter["id"])).json()
    assert body["status"] == "submitted" and body["text"] == "5号楼门口路灯坏了一周了"
    assert body["reporter_name"] is None
    for personal in ("latitude", "longitude", "hide_name", "rating", "text_status"):
        assert body.get(personal) is None
    assert body["timeline"][0]["actor_name"] is None
    assert body["allowed_actions"] == ["plus_one"]
    listed = Api(world.neighbor).get("/api/v1/matters", {"scope": "neighborhood"}).json()["results"]
    assert [m["id"] for m in listed] == [matter["id"]] and listed[0]["reporter_name"] is None
    # a name not hidden is shown; staff always see it
    shown = created(Api(world.neighbor), world.parking, place="3号楼消防通道")
    assert Api(world.reporter).get(url(shown["id"])).json()["reporter_name"] == "李四"
    assert Api(world.staff).get(url(matter["id"])).json()["reporter_name"] == "张三"


def test_the_neighborhood_list_is_only_the_callers_neighborhood(world):
    created(Api(world.reporter), world.repair)
    assert Api(world.sister_resident).get("/api/v1/matters", {"scope": "neighborhood"}).json()["results"] == []
    assert_error(
        Api(world.sister_resident).get("/api/v1/matters", {"scope": "neighborhood", "neighborhood": world.neighborhood.pk}),
        404,
    )


def test_units_and_staff_see_what_is_theirs(world):
    matter = created(Api(world.reporter), world.repair)
    for user in (world.property_worker, world.staff, world.officer):
        body = Api(user).get(url(matter["id"])).json()
        assert body["latitude"] == "31.345000" and "accept" in body["allowed_actions"]
        queue = Api(user).get("/api/v1/matters", {"scope": "queue"}).json()["results"]
        assert [m["id"] for m in queue] == [matter["id"]]
    assert Api(world.urban_worker).get("/api/v1/matters", {"scope": "queue"}).json()["results"] == []
    # the committee is the property's parent, but sees it only once it is escalated (test_deadlines)
    assert_error(Api(world.committee_worker).get(url(matter["id"])), 404)


def test_mine_lists_what_i_reported_and_what_i_said_i_also_have(world):
    mine = created(Api(world.reporter), world.repair)
    other = created(Api(world.neighbor), world.parking, place="3号楼消防通道")
    assert Api(world.reporter).post(url(other["id"], "plus-one")).status_code == 200
    listed = Api(world.reporter).get("/api/v1/matters").json()["results"]
    assert [m["id"] for m in listed] == [other["id"], mine["id"]]


def test_lists_cost_the_same_number_of_queries_whatever_the_page(world, django_assert_max_num_queries):
    api = Api(world.property_worker)
    created(Api(world.reporter), world.repair)
    with django_assert_max_num_queries(12) as one:
        api.get("/api/v1/matters", {"scope": "queue"})
    first_page = len(one)  # now: the next request's request_started clears the query log
    for i in range(4):
        created(Api(world.reporter), world.repair, place=f"{i}号楼", latitude=None, longitude=None)
    with django_assert_max_num_queries(first_page):
        assert len(api.get("/api/v1/matters", {"scope": "queue"}).json()["results"]) == 5
