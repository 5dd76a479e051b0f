"""A resident uploads a photo: cleaned, stored under a random name, hidden until WeChat passes it."""

from __future__ import annotations

import io
import struct
import zlib

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from community.models import PostImage
from images import pipeline as images
from images.models import Image
from tests.community.conftest import jpeg_bytes, make_post
from tests.conftest import assert_error
from wechat.signals import push_received


def _gps_exif() -> PILImage.Exif:
    exif = PILImage.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "PhoneMaker"
    gps = {1: "N", 2: (31.0, 24.0, 5.0), 3: "E", 4: (121.0, 29.0, 10.0)}
    exif[0x8825] = gps
    return exif


def _upload(api, data: bytes, name="photo.jpg", content_type="image/jpeg", **kw):
    return api.client.post(
        "/api/v1/images", {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart", **kw
    )


def _huge_png_header(width=30000, height=30000) -> bytes:
    """A tiny file that claims a 900-megapixel picture: a decompression bomb."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_gps_photo_is_stored_without_any_exif_and_upright(api_for, zhangsan, standin, django_capture_on_commit_callbacks):
    original = jpeg_bytes(size=(40, 20), exif=_gps_exif())
    assert PILImage.open(io.BytesIO(original)).getexif().get(0x8825)  # the upload does carry GPS

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(api_for(zhangsan), original)

    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["id"])
    with default_storage.open(image.file.name) as stored:
        raw = stored.read()
    stored_picture = PILImage.open(io.BytesIO(raw))
    assert dict(stored_picture.getexif()) == {}
    assert b"Exif" not in raw and b"PhoneMaker" not in raw
    assert stored_picture.size == (20, 40)  # orientation applied before the metadata went
    assert "photo" not in image.file.name  # random name, not the uploader's
    with default_storage.open(image.thumbnail.name) as thumb:
        assert dict(PILImage.open(thumb).getexif()) == {}
    # Sent to WeChat's media check with an absolute URL it can fetch.
    checks = standin.control("GET", "media-checks")["media_checks"]
    assert [c["media_url"] for c in checks.values()] == [images.absolute_url(image.file.name)]
    assert image.status == Image.Status.CHECKING and image.trace_id in checks


def test_decompression_bomb_is_refused(api_for, zhangsan):
    assert_error(_upload(api_for(zhangsan), _huge_png_header(), "bomb.png", "image/png"), 400, "image_too_large")
    assert not Image.objects.exists()


def test_gif_is_not_an_allowed_format(api_for, zhangsan):
    gif = jpeg_bytes(fmt="GIF")
    assert_error(_upload(api_for(zhangsan), gif, "a.gif", "image/gif"), 400, "unsupported_image_format")


def test_file_over_the_limit_is_413(api_for, zhangsan, settings):
    settings.MAX_IMAGE_UPLOAD_BYTES = 500
    assert_error(_upload(api_for(zhangsan), jpeg_bytes(size=(300, 300), color=(1, 2, 3)) + b"\0" * 600), 413)
    assert not Image.objects.exists()


def test_truncated_and_missing_files_are_400(api_for, zhangsan):
    api = api_for(zhangsan)
    assert_error(_upload(api, jpeg_bytes(size=(200, 200))[:300]), 400, "invalid_image")
    assert_error(api.client.post("/api/v1/images", {}, format="multipart"), 400, "image_missing")


def test_double_submit_with_idempotency_key_stores_one_image(api_for, zhangsan, standin):
    api = api_for(zhangsan)
    data = jpeg_bytes()
    first = _upload(api, data, HTTP_IDEMPOTENCY_KEY="img-1")
    second = _upload(api, data, HTTP_IDEMPOTENCY_KEY="img-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Image.objects.count() == 1


def _verdict_push(standin, trace_id):
    return standin.control("GET", "media-checks")["media_checks"][trace_id]["event"]


def test_image_stays_hidden_from_neighbors_until_the_verdict_passes(
    api_for, zhangsan, lisi, neighborhood, standin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        image_id = _upload(api_for(zhangsan), jpeg_bytes()).json()["id"]
    post = make_post(neighborhood, zhangsan)
    PostImage.objects.create(post=post, image_id=image_id)
    feed = f"/api/v1/neighborhoods/{neighborhood.id}/feed"

    assert api_for(lisi).get(feed).json()["results"][0]["images"] == []
    assert [i["id"] for i in api_for(zhangsan).get(feed).json()["results"][0]["images"]] == [image_id]

    event = _verdict_push(standin, Image.objects.get(pk=image_id).trace_id)
    push_received.send(sender=None, event="wxa_media_check", message=event)
    push_received.send(sender=None, event="wxa_media_check", message=event)  # WeChat repeats: harmless

    assert Image.objects.get(pk=image_id).status == Image.Status.PASSED
    shown = api_for(lisi).get(feed).json()["results"][0]["images"]
    assert [i["id"] for i in shown] == [image_id] and shown[0]["thumbnail_url"].startswith("http")
    detail = api_for(lisi).get(f"/api/v1/posts/{post.id}").json()
    assert detail["images"][0]["url"].endswith(".jpg")


def test_risky_image_is_removed_from_posts(api_for, zhangsan, neighborhood, standin, django_capture_on_commit_callbacks):
    standin.control("POST", "media-verdicts", {"rules": [{"match": "images/", "suggest": "risky", "label": 20002}]})
    with django_capture_on_commit_callbacks(execute=True):
        image_id = _upload(api_for(zhangsan), jpeg_bytes()).json()["id"]
    post = make_post(neighborhood, zhangsan)
    PostImage.objects.create(post=post, image_id=image_id)

    push_received.send(sender=None, event="wxa_media_check", message=_verdict_push(standin, Image.objects.get(pk=image_id).trace_id))

    assert Image.objects.get(pk=image_id).status == Image.Status.REJECTED
    assert not PostImage.objects.filter(post=post).exists()


def test_download_failure_and_unreachable_wechat_leave_the_image_pending_for_the_sweep(
    api_for, zhangsan, standin, django_capture_on_commit_callbacks
):
    standin.control("POST", "faults", {"path": "wxa/media_check_async", "kind": "errcode", "errcode": -1})
    with django_capture_on_commit_callbacks(execute=True):
        image_id = _upload(api_for(zhangsan), jpeg_bytes()).json()["id"]
    assert Image.objects.get(pk=image_id).status == Image.Status.PENDING_CHECK

    standin.control("DELETE", "faults")
    standin.control("POST", "media-verdicts", {"rules": [{"match": "images/", "errcode": -1008}]})
    assert images.check_pending_images() == 1
    image = Image.objects.get(pk=image_id)
    push_received.send(sender=None, event="wxa_media_check", message=_verdict_push(standin, image.trace_id))
    image.refresh_from_db()
    assert image.status == Image.Status.PENDING_CHECK and image.trace_id is None  # -1008: try again later

    standin.control("POST", "media-verdicts", {"rules": []})
    assert images.check_pending_images() == 1
    image.refresh_from_db()
    push_received.send(sender=None, event="wxa_media_check", message=_verdict_push(standin, image.trace_id))
    image.refresh_from_db()
    assert image.status == Image.Status.PASSED
