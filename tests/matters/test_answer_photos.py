"""The unit's answer carries up to 9 photos through the shared image pipeline, shown to the
reporter and every 我也遇到 neighbor once WeChat's media check passed them; the rating carries an
optional comment through WeChat's content check."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from cases.models import Case
from images.models import Image
from moderation.recheck import recheck_pending
from tests.conftest import Api, assert_error
from tests.matters.conftest import created, url
from wechat.signals import push_received


def _upload(api: Api, standin=None) -> int:
    out = io.BytesIO()
    PILImage.new("RGB", (40, 20), (30, 120, 200)).save(out, "JPEG")
    response = api.client.post("/api/v1/images", {"file": SimpleUploadedFile("a.jpg", out.getvalue(), content_type="image/jpeg")},
                               format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _pass(standin, image_id: int) -> None:
    """WeChat's media-check verdict arrives as a push (the stand-in passes by default)."""
    trace_id = Image.objects.get(pk=image_id).trace_id
    push_received.send(sender=None, event="wxa_media_check",
                       message=standin.control("GET", "media-checks")["media_checks"][trace_id]["event"])
    assert Image.objects.get(pk=image_id).status == Image.Status.PASSED


def test_answer_photos_reach_the_reporter_and_every_follower(world, standin, django_capture_on_commit_callbacks):
    matter = created(Api(world.reporter), world.repair)
    Api(world.neighbor).post(url(matter["id"], "plus-one"))
    unit = Api(world.property_worker)
    with django_capture_on_commit_callbacks(execute=True):
        ids = [_upload(unit), _upload(unit)]
    unit.post(url(matter["id"], "accept"))
    body = unit.post(url(matter["id"], "resolve"), {"answer": "已更换灯泡", "photos": ids}).json()
    assert [p["id"] for p in body["answer_photos"]] == ids  # the uploader sees them at once
    # Before the media check passed them, nobody else does.
    assert Api(world.reporter).get(url(matter["id"])).json()["answer_photos"] == []
    for image_id in ids:
        _pass(standin, image_id)
    for viewer in (world.reporter, world.neighbor):
        shown = Api(viewer).get(url(matter["id"])).json()["answer_photos"]
        assert [p["id"] for p in shown] == ids and shown[0]["url"].endswith(".jpg")
    listed = Api(world.neighbor).get("/api/v1/matters", {"scope": "mine"}).json()["results"]
    assert [p["id"] for p in listed[0]["answer_photos"]] == ids

    # Reopened and answered again: the new answer's photos replace the old ones.
    Api(world.reporter).post(url(matter["id"], "reopen"), {"reason": "又不亮了"})
    unit.post(url(matter["id"], "accept"))
    body = unit.post(url(matter["id"], "resolve"), {"answer": "更换了线路", "photos": ids[1:]}).json()
    assert [p["id"] for p in body["answer_photos"]] == ids[1:]


def test_answer_photos_limits_and_ownership(world, standin):
    matter = created(Api(world.reporter), world.repair)
    unit = Api(world.property_worker)
    unit.post(url(matter["id"], "accept"))
    assert_error(unit.post(url(matter["id"], "resolve"), {"answer": "好了", "photos": list(range(1, 11))}), 400, "invalid_input")
    reporters_photo = _upload(Api(world.reporter))
    error = assert_error(unit.post(url(matter["id"], "resolve"), {"answer": "好了", "photos": [reporters_photo]}),
                         400, "image_not_found")
    assert error["detail"]["image_ids"] == [reporters_photo]
    assert Case.objects.get(matter__id=matter["id"]).status == Case.Status.ACCEPTED  # nothing was written


def _confirmed(world) -> dict:
    matter = created(Api(world.reporter), world.repair)
    unit = Api(world.property_worker)
    unit.post(url(matter["id"], "accept"))
    unit.post(url(matter["id"], "resolve"), {"answer": "已修好"})
    Api(world.reporter).post(url(matter["id"], "confirm"))
    return matter


def test_rating_comment_is_content_checked(world, standin):
    matter = _confirmed(world)
    reporter = Api(world.reporter)
    error = assert_error(reporter.post(url(matter["id"], "rating"), {"score": 2, "comment": "物业在楼下赌博"}), 400, "content_rejected")
    assert error["message"]
    assert Case.objects.get(matter__id=matter["id"]).rating is None  # a refused comment rates nothing
    body = reporter.post(url(matter["id"], "rating"), {"score": 5, "comment": "修得很快，谢谢"}).json()
    assert body["rating"] == 5 and body["rating_comment"] == "修得很快，谢谢" and body["rating_comment_status"] == "published"
    unit_view = Api(world.property_worker).get(url(matter["id"])).json()
    assert unit_view["rating_comment"] == "修得很快，谢谢"
    assert "rating_comment" not in Api(world.neighbor).get(url(matter["id"])).json()  # the public view has no rating
    assert body["timeline"][-1]["kind"] == "rated"


def test_rating_without_comment_and_a_comment_waiting_for_wechat(world, standin):
    first, second = _confirmed(world), _confirmed(world)
    assert Api(world.reporter).post(url(first["id"], "rating"), {"score": 4}).json()["rating_comment_status"] is None
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "errcode", "errcode": -1})
    body = Api(world.reporter).post(url(second["id"], "rating"), {"score": 1, "comment": "上访也没用"}).json()
    assert body["rating_comment_status"] == "pending_check"
    standin.control("DELETE", "faults")
    assert recheck_pending(names=["cases.rating_comment"])["review"] == 1  # 上访 needs a person (conftest)
    assert Case.objects.get(matter__id=second["id"]).rating_comment_status == "pending_review"
