"""Pictures cannot exhaust the server: a pixel cap per format, one decode at a time per
process, and large photos decoded at reduced size. Every picture here is a real one, made
and decoded by Pillow."""

from __future__ import annotations

import io
import zlib

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from PIL import PngImagePlugin

from images import pipeline as images
from images.models import Image
from tests.conftest import assert_error


def _upload(api, data: bytes, name: str, content_type: str):
    return api.client.post(
        "/api/v1/images", {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart"
    )


def _picture(size, fmt: str, mode: str = "RGB", **save) -> bytes:
    out = io.BytesIO()
    PILImage.linear_gradient("L").resize(size).convert(mode).save(out, fmt, **save)
    return out.getvalue()


def test_png_over_the_lossless_pixel_cap_is_400_image_too_large(api_for, zhangsan, settings):
    settings.MAX_LOSSLESS_IMAGE_PIXELS = 10_000
    error = assert_error(_upload(api_for(zhangsan), _picture((101, 100), "PNG", "RGBA"), "a.png", "image/png"), 400, "image_too_large")
    assert error["detail"] == {"max_pixels": 10_000}
    assert not Image.objects.exists()


def test_jpeg_of_the_same_pixels_fits_its_own_larger_cap(api_for, zhangsan, settings, standin):
    settings.MAX_LOSSLESS_IMAGE_PIXELS = 10_000
    response = _upload(api_for(zhangsan), _picture((101, 100), "JPEG"), "a.jpg", "image/jpeg")
    assert response.status_code == 201, response.content


def test_jpeg_over_the_pixel_cap_is_400_image_too_large(api_for, zhangsan, settings):
    settings.MAX_IMAGE_PIXELS = 10_000
    assert_error(_upload(api_for(zhangsan), _picture((101, 100), "JPEG"), "a.jpg", "image/jpeg"), 400, "image_too_large")


def test_large_photo_is_stored_at_most_stored_max_side(api_for, zhangsan, standin):
    response = _upload(api_for(zhangsan), _picture((6000, 3000), "JPEG"), "big.jpg", "image/jpeg")
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["id"])
    assert (image.width, image.height) == (images.STORED_MAX_SIDE, images.STORED_MAX_SIDE // 2)
    with default_storage.open(image.file.name) as stored:
        assert PILImage.open(stored).size == (images.STORED_MAX_SIDE, images.STORED_MAX_SIDE // 2)
    with default_storage.open(image.thumbnail.name) as thumb:
        assert PILImage.open(thumb).size == (360, 180)


def test_jpeg_is_decoded_at_reduced_scale():
    with images._open(io.BytesIO(_picture((6000, 4000), "JPEG"))) as picture:
        images._reduce_at_decode(picture)
        # libjpeg will decode 1/2 scale: the 24 MP bitmap is never allocated.
        assert picture.size == (3000, 2000)
        images._decode(picture)
        assert picture.size == (2560, 1707)


def test_png_text_and_icc_chunks_do_not_survive(api_for, zhangsan, standin):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "住址: 宝林一村 12 号 301 室")
    data = _picture((64, 64), "PNG", pnginfo=info, icc_profile=b"fake-icc-profile-bytes")
    assert b"301" in data and b"fake-icc" in zlib_free(data)
    response = _upload(api_for(zhangsan), data, "a.png", "image/png")
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["id"])
    with default_storage.open(image.file.name) as stored:
        raw = stored.read()
    assert b"301" not in raw and b"iCCP" not in raw and b"tEXt" not in raw


def zlib_free(data: bytes) -> bytes:
    """The PNG with its iCCP chunk's profile inflated, to show the upload really carries it."""
    start = data.index(b"iCCP") + 4
    name_end = data.index(b"\x00", start)
    return zlib.decompressobj().decompress(data[name_end + 2 :])


def test_upload_waits_for_the_decode_slot_and_answers_503_when_it_stays_busy(api_for, zhangsan, monkeypatch, standin):
    monkeypatch.setattr(images, "DECODE_WAIT_SECONDS", 0.2)
    data = _picture((64, 64), "JPEG")
    assert images._DECODE_SLOT.acquire(timeout=1)  # another request is decoding
    try:
        response = _upload(api_for(zhangsan), data, "a.jpg", "image/jpeg")
    finally:
        images._DECODE_SLOT.release()
    error = assert_error(response, 503, "image_busy")
    assert response["Retry-After"] == "5" and error["message"]
    assert not Image.objects.exists()
    assert _upload(api_for(zhangsan), data, "a.jpg", "image/jpeg").status_code == 201
