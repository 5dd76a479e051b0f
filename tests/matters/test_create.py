"""Reporting a matter: routing to the configured unit, deadlines, the bad inputs each a clear
error in the one shape, the content check, photos and the idempotent double tap."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image as PILImage

from matters.models import Matter
from tests.conftest import Api, assert_error
from tests.matters.conftest import created, report


def test_a_report_goes_to_the_unit_configured_for_its_neighborhood_and_category(world):
    before = timezone.now()
    body = created(Api(world.reporter), world.repair, hide_name=True)
    assert body["status"] == "submitted"
    assert body["unit"]["id"] == world.property.pk
    assert body["category"]["name"] == "设施报修" and body["item"]["name"] == "路灯不亮"
    accept_due = datetime.fromisoformat(body["accept_due_at"])
    assert before + timedelta(hours=12) <= accept_due <= timezone.now() + timedelta(hours=12)
    assert body["due_at"] == body["accept_due_at"] and body["is_overdue"] is False
    assert [e["kind"] for e in body["timeline"]] == ["submitted"]
    assert body["timeline"][0]["to_unit"]["id"] == world.property.pk
    assert body["reporter_name"] == "张三"  # the reporter's own view always has the name
    assert body["allowed_actions"] == []


def test_a_street_level_rule_routes_when_the_neighborhood_has_none(world):
    body = created(Api(world.reporter), world.parking, place="3号楼消防通道")
    assert body["unit"]["id"] == world.urban.pk


def test_the_unit_is_told_of_a_new_matter(world):
    created(Api(world.reporter), world.repair)
    inbox = Api(world.property_worker).get("/api/v1/notifications").json()["results"]
    assert [n["kind"] for n in inbox] == ["case_assigned"]


def test_coordinates_outside_the_neighborhood_are_422(world):
    error = assert_error(report(Api(world.reporter), world.repair, latitude="31.400000"), 422, "location_out_of_region")
    assert error["detail"]["region"] == world.neighborhood.pk
    assert not Matter.objects.exists()


def test_a_category_without_a_unit_is_422(world):
    assert_error(report(Api(world.reporter), world.unrouted), 422, "no_responsible_unit")
    assert not Matter.objects.exists()


def test_bad_bodies_are_400(world):
    api = Api(world.reporter)
    assert_error(report(api, world.repair, longitude=None), 400)
    assert_error(api.post("/api/v1/matters", {"item": 999999, "text": "x", "place": "y"}), 400, "unknown_item")
    assert_error(report(api, world.repair, text=""), 400)
    assert_error(report(api, world.repair, latitude="95"), 400)


def test_someone_without_an_approved_membership_cannot_report(world):
    assert_error(report(Api(world.officer), world.repair), 403, "membership_required")
    # ... nor about a neighborhood that is not theirs
    assert_error(report(Api(world.reporter), world.repair, neighborhood=world.sister.pk), 403, "membership_required")


def test_risky_text_is_refused_and_text_under_review_is_kept_from_neighbors(world):
    assert_error(report(Api(world.reporter), world.repair, text="这里有人赌博"), 400, "content_rejected")
    assert not Matter.objects.exists()
    body = created(Api(world.reporter), world.repair, text="要去上访")
    assert body["text_status"] == "pending_review" and body["unit"]["id"] == world.property.pk
    # the unit still gets it; a neighbor does not see it at all until a person passed the text
    assert Api(world.property_worker).get(f"/api/v1/matters/{body['id']}").status_code == 200
    assert_error(Api(world.neighbor).get(f"/api/v1/matters/{body['id']}"), 404, "matter_not_found")


def test_a_double_tap_with_one_key_makes_one_matter(world):
    api = Api(world.reporter)
    first = report(api, world.repair, headers={"Idempotency-Key": "tap-1"})
    second = report(api, world.repair, headers={"Idempotency-Key": "tap-1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Matter.objects.count() == 1


def _jpeg() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (40, 20), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_photos_are_the_shared_image_pipeline_up_to_nine(world):
    api = Api(world.reporter)
    ids = []
    for i in range(2):
        upload = SimpleUploadedFile(f"p{i}.jpg", _jpeg(), content_type="image/jpeg")
        response = api.client.post("/api/v1/images", {"file": upload}, format="multipart")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    body = created(api, world.repair, photos=ids)
    assert [p["id"] for p in body["photos"]] == ids
    assert_error(report(api, world.repair, photos=list(range(1, 11)), insist=True), 400)
    someone_elses = Api(world.neighbor)
    assert_error(report(someone_elses, world.repair, photos=ids, insist=True), 400, "image_not_found")
