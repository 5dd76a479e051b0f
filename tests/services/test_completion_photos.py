"""The provider completes a request with photos: the family sees them on the detail, the list
(thumbnails) and the timeline once WeChat's media check passed them; the provider sees their
own at once; nobody can attach someone else's picture."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from images.models import Image
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRequest, ServiceRequestPhoto
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item

URL = "/api/v1/service-requests"


def _photo(owner, status=Image.Status.PASSED) -> Image:
    return Image.objects.create(
        owner=owner, file="images/test/done.jpg", thumbnail="images/test/done_t.jpg", format="jpeg",
        width=800, height=600, size_bytes=1000, status=status,
    )


def _in_service(world) -> ServiceRequest:
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    do_transition_service_request(req.pk, actor=world.staff, to="accepted")
    do_transition_service_request(req.pk, actor=world.staff, to="assigned", assignee_org_id=world.org.pk)
    do_transition_service_request(req.pk, actor=world.worker, to="in_service")
    return req


def _complete(api, req, photos, **extra):
    return api.post(f"{URL}/{req.pk}/transitions", {"to": "completed", "note": "已送达", "photos": photos}, **extra)


def test_family_sees_the_completion_photos_on_detail_list_and_timeline(world, api_for):
    req = _in_service(world)
    first, second = _photo(world.worker), _photo(world.worker)
    response = _complete(api_for(world.worker), req, [second.pk, first.pk])
    assert response.status_code == 200, response.content
    assert [p["id"] for p in response.json()["completion_photos"]] == [second.pk, first.pk]  # the order given

    son = api_for(world.son)
    detail = son.get(f"{URL}/{req.pk}").json()["completion_photos"]
    assert [p["id"] for p in detail] == [second.pk, first.pk]
    assert detail[0]["url"].endswith("images/test/done.jpg") and detail[0]["thumbnail_url"].endswith("done_t.jpg")
    listed = son.get(URL).json()["results"][0]["completion_photos"]
    assert [p["id"] for p in listed] == [second.pk, first.pk]
    assert "url" not in listed[0] and listed[0]["thumbnail_url"].endswith("done_t.jpg")  # lists carry thumbnails only
    events = son.get(f"{URL}/{req.pk}/events").json()["results"]
    completion = next(e for e in events if e["to_status"] == "completed")
    assert [p["id"] for p in completion["photos"]] == [second.pk, first.pk]
    assert completion["photos"][0]["event_id"] == completion["id"]
    assert all(e["photos"] == [] for e in events if e is not completion)
    assert api_for(world.staff).get(f"{URL}/{req.pk}").json()["completion_photos"][0]["id"] == second.pk


def test_a_photo_waiting_for_the_media_check_is_seen_only_by_the_provider(world, api_for):
    req = _in_service(world)
    waiting = _photo(world.worker, status=Image.Status.CHECKING)
    assert _complete(api_for(world.worker), req, [waiting.pk]).status_code == 200
    assert [p["id"] for p in api_for(world.worker).get(f"{URL}/{req.pk}").json()["completion_photos"]] == [waiting.pk]
    assert api_for(world.son).get(f"{URL}/{req.pk}").json()["completion_photos"] == []
    assert api_for(world.son).get(URL).json()["results"][0]["completion_photos"] == []

    Image.objects.filter(pk=waiting.pk).update(status=Image.Status.PASSED)
    assert [p["id"] for p in api_for(world.son).get(f"{URL}/{req.pk}").json()["completion_photos"]] == [waiting.pk]
    # WeChat later rejects it (e.g. a review ends in removal): it disappears for the family again.
    Image.objects.filter(pk=waiting.pk).update(status=Image.Status.REJECTED)
    assert api_for(world.son).get(f"{URL}/{req.pk}").json()["completion_photos"] == []


@pytest.mark.parametrize("whose", ["son", "other_worker", "rejected", "missing"])
def test_only_the_providers_own_live_pictures_can_be_attached(world, api_for, whose):
    req = _in_service(world)
    if whose == "missing":
        photo_id = 999_999
    elif whose == "rejected":
        photo_id = _photo(world.worker, status=Image.Status.REJECTED).pk
    else:
        photo_id = _photo(getattr(world, whose)).pk
    error = assert_error(_complete(api_for(world.worker), req, [photo_id]), 400, "image_not_found")
    assert error["detail"]["image_ids"] == [photo_id]
    req.refresh_from_db()
    assert req.status == "in_service" and not ServiceRequestPhoto.objects.exists()


@pytest.mark.parametrize(
    ("photos", "code"),
    [(["x"], "invalid_input"), ("1", "invalid_input"), (list(range(1, 11)), "invalid_input"), ("dup", "duplicate_images")],
)
def test_malformed_photo_lists_are_400_and_change_nothing(world, api_for, photos, code):
    req = _in_service(world)
    if photos == "dup":
        same = _photo(world.worker).pk
        photos = [same, same]
    assert_error(_complete(api_for(world.worker), req, photos), 400, code)
    req.refresh_from_db()
    assert req.status == "in_service" and not ServiceRequestPhoto.objects.exists()


def test_photos_go_only_with_completion(world, api_for):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    photo = _photo(world.staff)
    response = api_for(world.staff).post(f"{URL}/{req.pk}/transitions", {"to": "accepted", "photos": [photo.pk]})
    assert_error(response, 400, "photos_not_allowed")
    req.refresh_from_db()
    assert req.status == "submitted"


def test_a_double_tap_on_complete_attaches_the_photos_once(world, api_for):
    req = _in_service(world)
    photo = _photo(world.worker)
    worker = api_for(world.worker)
    headers = {"Idempotency-Key": "done-1"}
    assert _complete(worker, req, [photo.pk], headers=headers).status_code == 200
    assert _complete(worker, req, [photo.pk], headers=headers).status_code == 200
    assert_error(_complete(worker, req, [photo.pk]), 409, "request_state_changed")  # a new tap, no key
    assert ServiceRequestPhoto.objects.count() == 1


def test_outsiders_see_neither_the_request_nor_its_photos(world, api_for):
    req = _in_service(world)
    _complete(api_for(world.worker), req, [_photo(world.worker).pk])
    for someone in (world.neighbor, world.other_worker, world.other_officer):
        assert_error(api_for(someone).get(f"{URL}/{req.pk}"), 404)
        assert_error(api_for(someone).get(f"{URL}/{req.pk}/events"), 404)


def test_reopened_and_completed_again_keeps_each_rounds_photos(world, api_for):
    req = _in_service(world)
    worker = api_for(world.worker)
    first = _photo(world.worker)
    _complete(worker, req, [first.pk])
    api_for(world.son).post(f"{URL}/{req.pk}/transitions", {"to": "reopened", "note": "饭是凉的"})
    do_transition_service_request(req.pk, actor=world.staff, to="assigned", assignee_org_id=world.org.pk)
    do_transition_service_request(req.pk, actor=world.worker, to="in_service")
    second = _photo(world.worker)
    _complete(worker, req, [second.pk, first.pk])  # the same picture may appear in both rounds
    photos = api_for(world.son).get(f"{URL}/{req.pk}").json()["completion_photos"]
    assert [p["id"] for p in photos] == [first.pk, second.pk, first.pk]
    assert photos[0]["event_id"] != photos[1]["event_id"] == photos[2]["event_id"]


def _list_queries(api, path, n_expected):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, {"limit": 100})
    assert len(response.json()["results"]) == n_expected
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["son", "worker", "staff"])
def test_list_with_photos_costs_the_same_for_5_and_50_requests(world, api_for, who):
    def make(n):
        for _ in range(n):
            req = _in_service(world)
            do_transition_service_request(
                req.pk, actor=world.worker, to="completed", photos=[_photo(world.worker).pk, _photo(world.worker).pk]
            )

    api = api_for(getattr(world, who))
    make(5)
    api.get(URL)  # the token's last_used_at write happens once
    small = _list_queries(api, URL, 5)
    make(45)
    assert _list_queries(api, URL, 50) == small
    assert all(len(r["completion_photos"]) == 2 for r in api.get(URL, {"limit": 100}).json()["results"])
