"""Personas and helpers for the feed tests."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from PIL import Image as PILImage

from community.models import ContentStatus, Post
from core.ratelimit import reset_local
from images.models import Image
from residents.models import Role
from tests import factories as f


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache, keyed by user id; ids repeat across tests.
    cache.clear()
    reset_local()  # the throttles' counters when the cache is not Redis
    yield
    cache.clear()


@pytest.fixture
def standin(wechat_standin):
    """The stand-in with a known word list: 赌博 risky, 上访 review."""
    wechat_standin.control("POST", "words", {"risky": {"赌博": 20006}, "review": {"上访": 21000}})
    return wechat_standin


@pytest.fixture
def zhangsan(neighborhood):
    return f.resident(neighborhood, nickname="张三", openid="zhangsan")


@pytest.fixture
def lisi(neighborhood):
    user = f.resident(neighborhood, nickname="李四", openid="lisi")
    f.RoleFactory(user=user, region=neighborhood, kind=Role.Kind.PARTY_MEMBER)
    return user


@pytest.fixture
def chenjuwei(neighborhood):
    return f.staff(neighborhood, nickname="陈主任", openid="chenjuwei")


@pytest.fixture
def zhoubanzhu(neighborhood):
    user = f.resident(neighborhood, nickname="周版主", openid="zhoubanzhu")
    f.RoleFactory(user=user, region=neighborhood, kind=Role.Kind.MODERATOR)
    return user


@pytest.fixture
def zhaoliu(other_neighborhood):
    return f.resident(other_neighborhood, nickname="赵六", openid="zhaoliu")


@pytest.fixture
def liujiedao(street):
    return f.officer(street, nickname="刘科长", openid="liujiedao")


def make_post(region, author, *, status=ContentStatus.PUBLISHED, section="neighbors", scope=Post.Scope.NEIGHBORHOOD, **kw):
    kw.setdefault("needs_answer", section != "notice")
    return Post.objects.create(
        region=region, author=author, section=section, scope=scope, title=kw.pop("title", "楼道灯坏了"),
        body=kw.pop("body", "3号楼2楼的灯不亮了"), status=status, **kw,
    )


def jpeg_bytes(size=(40, 20), color=(200, 30, 30), exif=None, fmt="JPEG") -> bytes:
    out = io.BytesIO()
    picture = PILImage.new("RGB", size, color)
    if exif is not None:
        picture.save(out, fmt, exif=exif)
    else:
        picture.save(out, fmt)
    return out.getvalue()


def make_image(owner, status=Image.Status.PASSED) -> Image:
    return Image.objects.create(
        owner=owner, file="images/test/x.jpg", thumbnail="images/test/x_t.jpg", format="jpeg", width=10, height=10,
        size_bytes=100, status=status,
    )
