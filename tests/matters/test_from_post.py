"""Staff turn a feed post that needs an answer into a matter (POST /api/v1/matters/from-post/{id},
console/matter_from_post.py): staff of the post's neighborhood only, the item chosen by staff,
the post's author as reporter, linked both ways; a post turned twice is 409."""

from __future__ import annotations

from community.models import Comment, ContentStatus, Post
from tests.community.conftest import make_image, make_post
from tests.conftest import Api, assert_error
from tests.matters.conftest import url


def _from_post(api: Api, post, item, **body):
    return api.post(f"/api/v1/matters/from-post/{post.pk}", {"item": item.pk, **body})


def test_staff_turn_a_post_into_a_matter_for_its_author(world):
    post = make_post(world.neighborhood, world.neighbor, title="楼道灯坏了", body="3号楼2楼的灯不亮了", needs_answer=True)
    photo = make_image(world.neighbor)
    post.post_images.create(image=photo, position=0)

    response = _from_post(Api(world.staff), post, world.repair, place="3号楼2楼")

    assert response.status_code == 201, response.content
    matter = response.json()
    assert matter["source_post"] == post.pk and matter["place"] == "3号楼2楼" and matter["item"]["id"] == world.repair.pk
    assert matter["unit"]["name"] == "宝林一村物业" and matter["status"] == "submitted"
    assert "楼道灯坏了" in matter["text"] and [p["id"] for p in matter["photos"]] == [photo.pk]
    # The author is the reporter: the matter is theirs, they confirm and rate it.
    mine = Api(world.neighbor).get("/api/v1/matters?scope=mine").json()["results"]
    assert [m["id"] for m in mine] == [matter["id"]] and mine[0]["is_mine"]
    # The post is answered officially, naming the matter.
    post.refresh_from_db()
    assert post.answered_at is not None
    reply = Comment.objects.get(post=post, is_official=True)
    assert str(matter["id"]) in reply.body
    # The unit was told.
    assert "case_assigned" in [n["kind"] for n in Api(world.property_worker).get("/api/v1/notifications").json()["results"]]

    again = _from_post(Api(world.staff), post, world.repair)
    error = assert_error(again, 409, "post_already_matter")
    assert error["detail"]["matter"] == matter["id"]
    assert Api(world.neighbor).get(url(matter["id"])).status_code == 200


def test_only_staff_of_the_posts_neighborhood_and_only_published_posts(world):
    post = make_post(world.neighborhood, world.neighbor)
    for who in (world.neighbor, world.property_worker, world.other_officer):
        assert_error(_from_post(Api(who), post, world.repair), 404, "post_not_found")
    assert_error(_from_post(Api(world.staff), post, world.unrouted), 422, "no_responsible_unit")
    assert_error(Api(world.staff).post(f"/api/v1/matters/from-post/{post.pk}", {"item": 10**9}), 400, "unknown_item")
    hidden = make_post(world.neighborhood, world.neighbor, status=ContentStatus.PENDING_REVIEW)
    assert_error(_from_post(Api(world.staff), hidden, world.repair), 409, "post_not_published")
    assert_error(_from_post(Api(world.staff), Post(pk=10**9), world.repair), 404, "post_not_found")
    # The street's officer is staff of the neighborhood too; parking goes to the street's 城管.
    response = _from_post(Api(world.officer), post, world.parking)
    assert response.status_code == 201 and response.json()["unit"]["name"] == "友谊路城管中队"
