"""The shared image pipeline: upload → clean re-encode → WeChat media check → visible.

Every app that shows user pictures (feed posts, service requests, deliberation) takes
an image id made here and shows it to others only while `Image.status == passed`.

Upload rules: Pillow opens only JPEG/PNG/WEBP; files over MAX_IMAGE_UPLOAD_BYTES are
413; pictures over MAX_IMAGE_PIXELS (decompression bombs) are 400 `image_too_large`;
EXIF orientation is applied, then the pixels are re-encoded with no metadata at all
(EXIF GPS, XMP, ICC, text chunks), so nothing the camera wrote leaves the server.

Media check: after the row is committed the image goes to mediaCheckAsync; the verdict
arrives as a `wxa_media_check` push (wechat.signals.push_received) and lands in
`apply_media_verdict`. WeChat unreachable, or it could not download the file (-1008):
the image stays pending_check and `images.tasks.check_pending_images` tries again.
Apps react to a verdict through the `image_checked` signal (e.g. the feed drops a
rejected picture from its posts). The push receiver is connected in images/apps.py.
"""

from __future__ import annotations

import ctypes
import io
import logging
import secrets
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from core.errors import InvalidInput, ServiceUnavailable, TooLarge
from images.models import Image

logger = logging.getLogger(__name__)

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
THUMBNAIL_SIZE = (360, 360)
# What is stored: longer side at most this. More than a phone screen shows at 3×, and it lets
# a 50 MP JPEG decode at half scale (draft) instead of full.
STORED_MAX_SIDE = 2560
# 50 MP: the largest phone sensors' full-resolution mode (8160 × 6120). Phone photos are
# JPEG, which draft() decodes at 1/2 scale or less, so such a photo costs ~12 MP of memory.
DEFAULT_MAX_PIXELS = 50_000_000
# PNG and WEBP have no reduced decode: every pixel is decoded (4 bytes each). 16 MP holds a
# long phone screenshot (1080 × 15,000); a 40 MP PNG took 18.6 s and 700 MB here.
DEFAULT_MAX_LOSSLESS_PIXELS = 16_000_000
# How long an upload waits for the process's decode slot before answering 503. A post takes
# up to 9 pictures, which the mini-program uploads at once: they queue here, one by one.
DECODE_WAIT_SECONDS = 30.0
# -1008: WeChat could not download the file. Retried this many times, then left for a person.
MAX_CHECK_ATTEMPTS = 5
MEDIA_DOWNLOAD_FAILED = -1008

# Sent (synchronously, inside the verdict's transaction) with `image` after its status changed.
image_checked = Signal()

# One large bitmap per process at a time: four 40 MP PNGs decoded in parallel took a server
# from 185 MB to 1.98 GB. ASGI runs each request's sync code in a thread of its own, so the
# slot is a thread semaphore; N server processes decode at most N pictures at once.
_DECODE_SLOT = threading.BoundedSemaphore(1)


def _max_pixels(fmt: str | None = "JPEG") -> int:
    if fmt != "JPEG":
        return int(getattr(settings, "MAX_LOSSLESS_IMAGE_PIXELS", DEFAULT_MAX_LOSSLESS_PIXELS))
    return int(getattr(settings, "MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS))


def _open(upload: Any) -> PILImage.Image:
    """The picture with its header read and checked; nothing decoded yet."""
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a warning is a refusal here.
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            picture = PILImage.open(upload, formats=list(ALLOWED_FORMATS))
        except UnidentifiedImageError:
            raise InvalidInput("unsupported_image_format", "仅支持 JPEG、PNG、WEBP 格式的图片") from None
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
            raise InvalidInput("image_too_large", "图片像素过大") from None
        except (OSError, SyntaxError, ValueError):
            raise InvalidInput("invalid_image", "图片文件已损坏或不完整") from None
    width, height = picture.size
    # Checked before decoding: the header alone says how big the decoded picture would be.
    limit = _max_pixels(picture.format)
    if width * height > limit or width == 0 or height == 0:
        picture.close()
        raise InvalidInput("image_too_large", "图片像素过大", max_pixels=limit)
    return picture


def _fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, box / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reduce_at_decode(picture: PILImage.Image) -> None:
    if picture.format == "JPEG":
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale directly: the full bitmap never exists.
        picture.draft(None, _fit(picture.size, STORED_MAX_SIDE))


def _decode(picture: PILImage.Image) -> None:
    """Decode in place at no more than STORED_MAX_SIDE, upright, with no metadata left."""
    _reduce_at_decode(picture)
    try:
        picture.load()
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise InvalidInput("image_too_large", "图片像素过大", max_pixels=_max_pixels(picture.format)) from None
    except (OSError, SyntaxError, ValueError):
        raise InvalidInput("invalid_image", "图片文件已损坏或不完整") from None
    # In place: the large bitmap is replaced, not kept next to the small one. The box is
    # square, so shrinking before turning upright gives the same size, and the turn copies
    # the small bitmap instead of the large one. reducing_gap=1: box-reduce by the whole
    # factor first, then resample only the rest.
    picture.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), reducing_gap=1.0)
    ImageOps.exif_transpose(picture, in_place=True)
    # Savers read ICC, EXIF, XMP and text chunks from .info (PNG) or from save() arguments
    # (JPEG, WEBP, which are given none): nothing the camera wrote is written back.
    picture.info.clear()
    picture._exif = None


def _encode(picture: PILImage.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        if picture.mode not in ("RGB", "L"):
            with picture.convert("RGB") as rgb:
                rgb.save(out, "JPEG", quality=85, optimize=True)
        else:
            picture.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        # Not optimize=True: it tries every filter at zlib level 9, ~20 s on a 40 MP picture.
        picture.save(out, "PNG")
    else:
        picture.save(out, "WEBP", quality=85)
    return out.getvalue()


def _thumbnail(picture: PILImage.Image) -> bytes:
    small = picture.resize(_fit(picture.size, THUMBNAIL_SIZE[0]), PILImage.Resampling.BICUBIC, reducing_gap=2.0)
    if small.mode in ("RGBA", "LA", "P", "PA"):
        rgba = small.convert("RGBA")
        flat = PILImage.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        small = flat
    elif small.mode != "RGB":
        small = small.convert("RGB")
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def _release_freed_memory() -> None:
    """Hand freed heap pages back to the OS. glibc keeps large freed blocks in its arenas
    (one per thread), so without this a server that decoded a few big pictures stayed at
    their peak RSS for good."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _load_malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_malloc_trim = _load_malloc_trim()


@dataclass(frozen=True)
class CleanPicture:
    format: str
    body: bytes
    thumbnail: bytes
    width: int
    height: int


def clean_picture(upload: Any) -> CleanPicture:
    """Check, decode, strip and re-encode one upload, holding this process's decode slot.
    Raises InvalidInput for a bad picture, ServiceUnavailable when the slot stays busy."""
    with _open(upload) as picture:
        if not _DECODE_SLOT.acquire(timeout=DECODE_WAIT_SECONDS):
            raise ServiceUnavailable("image_busy", "图片处理繁忙，请稍后重试", retry_after=5)
        try:
            fmt = picture.format or "JPEG"
            _decode(picture)
            return CleanPicture(
                format=fmt,
                body=_encode(picture, fmt),
                thumbnail=_thumbnail(picture),
                width=picture.width,
                height=picture.height,
            )
        finally:
            picture.close()  # drops the bitmap now, before the trim below
            _release_freed_memory()
            _DECODE_SLOT.release()


def do_upload_image(*, owner: Any, upload: Any) -> Image:
    """Validate, clean and store an uploaded picture, owned by `owner`. The media check is
    requested after commit (`request_media_check`); until its verdict only the owner sees it.

    Decoding stays on the request path: with the pixel cap, JPEG draft decoding and no PNG
    optimize pass the worst accepted picture takes ~2 s (bench/images.py), and the client
    needs the stored image's id to attach it to a post."""
    size = getattr(upload, "size", None)
    if size is None or size == 0:
        raise InvalidInput("image_missing", "请选择要上传的图片")
    if size > settings.MAX_IMAGE_UPLOAD_BYTES:
        raise TooLarge("image_file_too_large", "图片文件过大", max_bytes=settings.MAX_IMAGE_UPLOAD_BYTES)
    clean = clean_picture(upload)
    now = timezone.localdate()
    stem = f"images/{now:%Y/%m}/{secrets.token_hex(16)}"
    # Random names: the URL cannot be guessed, and the uploader's file name (often a date or name) is dropped.
    file_name = default_storage.save(f"{stem}.{EXTENSIONS[clean.format]}", ContentFile(clean.body))
    thumb_name = default_storage.save(f"{stem}_t.jpg", ContentFile(clean.thumbnail))
    try:
        image = Image.objects.create(
            owner=owner,
            file=file_name,
            thumbnail=thumb_name,
            format=clean.format.lower(),
            width=clean.width,
            height=clean.height,
            size_bytes=len(clean.body),
        )
    except Exception:
        default_storage.delete(file_name)
        default_storage.delete(thumb_name)
        raise
    transaction.on_commit(lambda: request_media_check(image.pk))
    return image


def absolute_url(name: str) -> str:
    url = default_storage.url(name)
    if url.startswith("/"):
        return settings.PUBLIC_BASE_URL + url
    return url


def request_media_check(image_id: int) -> Image | None:
    """Hand a pending image to mediaCheckAsync. WeChat unreachable: stays pending_check for the sweep."""
    from wechat import client as wechat_client
    from wechat.errors import WeChatError

    image = Image.objects.select_related("owner").filter(pk=image_id, status=Image.Status.PENDING_CHECK).first()
    if image is None:
        return None
    openid = image.owner.openid
    if not openid:
        # mediaCheckAsync needs the uploader's openid; without one the image waits for a person (admin).
        logger.warning("image %s: owner has no openid, cannot request a media check", image.pk)
        return image
    try:
        trace_id = wechat_client.check_media_async(openid=openid, media_url=absolute_url(image.file.name))
    except WeChatError as exc:
        logger.info("image %s: media check not accepted (%s), will retry", image.pk, exc)
        Image.objects.filter(pk=image.pk).update(check_attempts=image.check_attempts + 1)
        return image
    # Conditional: a verdict may only move an image that is still waiting for it.
    Image.objects.filter(pk=image.pk, status=Image.Status.PENDING_CHECK).update(
        status=Image.Status.CHECKING, trace_id=trace_id, check_attempts=image.check_attempts + 1
    )
    image.refresh_from_db()
    return image


def apply_media_verdict(*, trace_id: str, suggest: str | None, errcode: int = 0, label: int | None = None) -> Image | None:
    """Record a media-check verdict. Idempotent: WeChat repeats pushes it thinks we missed."""
    with transaction.atomic():
        image = Image.objects.select_for_update().filter(trace_id=trace_id).first()
        if image is None or image.status != Image.Status.CHECKING:
            return image
        if errcode == MEDIA_DOWNLOAD_FAILED:
            if image.check_attempts >= MAX_CHECK_ATTEMPTS:
                image.status = Image.Status.REVIEW
            else:
                image.status = Image.Status.PENDING_CHECK
            image.trace_id = None  # the next attempt gets a new one
        elif suggest == "pass" and errcode == 0:
            image.status = Image.Status.PASSED
        elif suggest == "risky":
            image.status = Image.Status.REJECTED
        else:
            image.status = Image.Status.REVIEW
        image.label = label
        image.checked_at = timezone.now()
        image.save(update_fields=["status", "trace_id", "label", "checked_at"])
        image_checked.send(sender=Image, image=image)
    return image


def on_wechat_push(sender: Any, event: str = "", message: dict | None = None, **kwargs: Any) -> None:
    """Receiver for wechat.signals.push_received: media-check verdicts."""
    if event != "wxa_media_check" or not isinstance(message, dict):
        return
    trace_id = message.get("trace_id")
    if not trace_id:
        return
    result = message.get("result") if isinstance(message.get("result"), dict) else {}
    try:
        errcode = int(message.get("errcode") or 0)
        label = int(result["label"]) if result.get("label") is not None else None
    except (TypeError, ValueError):
        errcode, label = 0, None
    apply_media_verdict(trace_id=str(trace_id), suggest=result.get("suggest"), errcode=errcode, label=label)


def check_pending_images(*, limit: int = 200) -> int:
    """Send waiting images to WeChat again. Returns how many were accepted for checking."""
    ids = list(
        Image.objects.filter(status=Image.Status.PENDING_CHECK, check_attempts__lt=MAX_CHECK_ATTEMPTS * 4)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    accepted = 0
    for image_id in ids:
        image = request_media_check(image_id)
        if image is not None and image.status == Image.Status.CHECKING:
            accepted += 1
    return accepted


def validate_image_ids(owner: Any, image_ids: list[int], *, limit: int = 9) -> list[int]:
    """The ids a user attaches to something they write: at most `limit`, no repeats, each an
    image they uploaded that WeChat has not rejected. Raises InvalidInput naming the bad ids."""
    if len(image_ids) > limit:
        raise InvalidInput("too_many_images", f"最多 {limit} 张图片", max_images=limit)
    if len(set(image_ids)) != len(image_ids):
        raise InvalidInput("duplicate_images", "图片重复")
    owned = set(
        Image.objects.filter(pk__in=image_ids, owner=owner)
        .exclude(status=Image.Status.REJECTED)
        .values_list("pk", flat=True)
    )
    missing = [i for i in image_ids if i not in owned]
    if missing:
        raise InvalidInput("image_not_found", "图片不存在或未通过审核", image_ids=missing)
    return image_ids
