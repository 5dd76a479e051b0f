"""Pictures on topics (the author's) and milestone photos (staff's): others see them only once
WeChat passed them (`Image.objects.visible_to`); the list carries thumbnails, the detail full images."""

from __future__ import annotations

import pytest

from deliberation.models import MilestonePhoto, MilestoneUpdate, Topic, TopicImage
from images.models import Image
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import make_image
from tests.deliberation.test_replies_milestones_evaluations import _implementing

pytestmark = pytest.mark.django_db


def _create(api, neighborhood, **kw):
    body = {"neighborhood": neighborhood.pk, "category": "parking", "title": "停车位划线", "body": "见照片", **kw}
    return api.post("/api/v1/topics", body)


def test_neighbor_sees_only_the_passed_picture_and_the_author_sees_both(neighborhood, zhangsan, lisi):
    passed, checking = make_image(zhangsan), make_image(zhangsan, status=Image.Status.CHECKING)
    response = _create(Api(zhangsan), neighborhood, image_ids=[checking.pk, passed.pk])
    assert response.status_code == 201, response.content
    topic_id = response.json()["id"]
    assert [i["id"] for i in response.json()["images"]] == [checking.pk, passed.pk]  # order kept, author sees own

    detail = Api(lisi).get(f"/api/v1/topics/{topic_id}").json()
    assert [i["id"] for i in detail["images"]] == [passed.pk]
    assert detail["images"][0]["url"].endswith(".jpg") and detail["images"][0]["thumbnail_url"]
    item = Api(lisi).get("/api/v1/topics").json()["results"][0]
    assert [t["id"] for t in item["thumbnails"]] == [passed.pk] and "url" not in item["thumbnails"][0]
    assert [t["id"] for t in Api(zhangsan).get("/api/v1/topics").json()["results"][0]["thumbnails"]] == [
        checking.pk,
        passed.pk,
    ]

    Image.objects.filter(pk=passed.pk).update(status=Image.Status.REJECTED)
    assert Api(lisi).get(f"/api/v1/topics/{topic_id}").json()["images"] == []


def test_someone_elses_rejected_or_too_many_images_are_refused_and_nothing_is_saved(neighborhood, zhangsan, lisi):
    api = Api(zhangsan)
    assert_error(_create(api, neighborhood, image_ids=[make_image(lisi).pk]), 400, "image_not_found")
    rejected = make_image(zhangsan, status=Image.Status.REJECTED)
    assert_error(_create(api, neighborhood, image_ids=[rejected.pk]), 400, "image_not_found")
    mine = make_image(zhangsan)
    assert_error(_create(api, neighborhood, image_ids=[mine.pk, mine.pk]), 400, "duplicate_images")
    ten = [make_image(zhangsan).pk for _ in range(10)]
    assert_error(_create(api, neighborhood, image_ids=ten), 400)
    assert_error(_create(api, neighborhood, image_ids=["x"]), 400)
    assert not Topic.objects.exists() and not TopicImage.objects.exists()


def test_staff_attach_milestone_photos_residents_see_the_passed_ones(neighborhood, staff, zhangsan, lisi, zhaoliu):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    path = f"/api/v1/topics/{topic.pk}/milestones"
    site, pending = make_image(staff), make_image(staff, status=Image.Status.REVIEW)
    assert_error(
        Api(staff).post(path, {"title": "施工", "image_ids": [make_image(zhangsan).pk]}), 400, "image_not_found"
    )
    assert_error(Api(zhangsan).post(path, {"title": "施工", "image_ids": [make_image(zhangsan).pk]}), 403, "staff_only")
    assert_error(Api(zhaoliu).post(path, {"title": "施工"}), 404)
    r1 = Api(staff).post(path, {"title": "施工", "image_ids": [site.pk, pending.pk]}, headers={"Idempotency-Key": "m"})
    r2 = Api(staff).post(path, {"title": "施工", "image_ids": [site.pk, pending.pk]}, headers={"Idempotency-Key": "m"})
    assert r1.status_code == 201 and r1.json() == r2.json()
    assert [p["id"] for p in r1.json()["photos"]] == [site.pk, pending.pk]
    assert MilestonePhoto.objects.count() == 2

    milestone = Api(lisi).get(f"/api/v1/topics/{topic.pk}").json()["milestones"][0]
    assert [p["id"] for p in milestone["photos"]] == [site.pk] and milestone["photos"][0]["url"]

    later = make_image(staff)
    patch = Api(staff).patch(f"{path}/{milestone['id']}", {"image_ids": [later.pk]})
    assert patch.status_code == 200 and [p["id"] for p in patch.json()["photos"]] == [later.pk]
    last = MilestoneUpdate.objects.filter(milestone_id=milestone["id"]).latest("id")
    assert last.changes == {"photos": {"from": [site.pk, pending.pk], "to": [later.pk]}}
    assert_error(Api(staff).patch(f"{path}/{milestone['id']}", {"image_ids": [make_image(lisi).pk]}), 400)
    assert list(MilestonePhoto.objects.values_list("image_id", flat=True)) == [later.pk]
