"""Shared fixtures: an API client per persona, a small region tree, the WeChat stand-in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests import factories as f
from tests.documented_errors import assert_documented
from tests.no_skip import pytest_runtest_makereport  # noqa: F401 (hook: no skip where the backend is present)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache keyed by user id, and ids repeat across tests:
    without this one story's requests would count against the next one's limit."""
    from django.core.cache import cache

    from core.memo import clear_all
    from core.ratelimit import reset_local
    from residents import token_cache

    cache.clear()
    reset_local()  # the throttles' counters when the cache is not Redis
    # Per-process memos of reference rows: a test's rows are rolled back without a signal.
    clear_all()
    token_cache.clear()  # likewise the tokens a process checked (residents/token_cache.py)
    yield


class Api:
    """A JSON client acting as one user (or anonymous)."""

    def __init__(self, user=None) -> None:
        self.user = user
        self.client = APIClient()
        if user is not None:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.token_for(user)}")

    def _call(self, method: str, path: str, data: Any = None, headers: dict | None = None, **kwargs):
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        fn = getattr(self.client, method)
        if data is not None and "format" not in kwargs and not isinstance(data, (str, bytes)):
            kwargs["format"] = "json"
        return fn(path, data, **extra, **kwargs)

    def get(self, path, data=None, **kw):
        return self._call("get", path, data, **kw)

    def post(self, path, data=None, **kw):
        return self._call("post", path, data, **kw)

    def patch(self, path, data=None, **kw):
        return self._call("patch", path, data, **kw)

    def put(self, path, data=None, **kw):
        return self._call("put", path, data, **kw)

    def delete(self, path, data=None, **kw):
        return self._call("delete", path, data, **kw)

    def raw_post(self, path: str, body: bytes | str, content_type: str = "application/json", **kw):
        return self.client.generic("POST", path, body, content_type=content_type, **kw)


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape, with the right status (and code when given)."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"], body
    assert isinstance(body["error"].get("detail", {}), dict)
    if code is not None:
        assert body["error"]["code"] == code, body
    assert_documented(response, body)
    return body["error"]


@pytest.fixture
def api_for():
    return Api


@pytest.fixture
def anon() -> Api:
    return Api()


@pytest.fixture
def district(db):
    return f.DistrictFactory(name="宝山区", code="310113000000")


@pytest.fixture
def street(district):
    return f.StreetFactory(parent=district, name="友谊路街道", code="310113001000")


@pytest.fixture
def other_street(district):
    return f.StreetFactory(parent=district, name="吴淞街道", code="310113002000")


@pytest.fixture
def neighborhood(street):
    return f.NeighborhoodFactory(parent=street, name="宝林一村居委会", code="310113001001")


@pytest.fixture
def other_neighborhood(other_street):
    return f.NeighborhoodFactory(parent=other_street, name="塘后路居委会", code="310113002001")


@pytest.fixture
def wechat_standin(settings):
    """The local WeChat stand-in over real HTTP, reset for each test."""
    from wechat.standin.server import start_in_thread

    handle = _standin_singleton(start_in_thread)
    handle.reset()
    settings.WECHAT_API_BASE = handle.url
    from django.core.cache import cache

    cache.clear()
    return handle


_STANDIN = None


def _standin_singleton(start):
    global _STANDIN
    if _STANDIN is None:
        from django.conf import settings as dj

        _STANDIN = start(host="127.0.0.1", port=0, appid=dj.WECHAT_APPID, secret=dj.WECHAT_SECRET)
    return _STANDIN


@pytest.fixture
def seeded_catalog():
    """Transactional tests start after some flush has wiped the migration-seeded catalog: seed
    it again with the migrations' own (idempotent) functions, the one-tap defaults included."""
    import importlib

    from django.apps import apps

    importlib.import_module("services.migrations.0002_seed_catalog").seed(apps, None)
    importlib.import_module("services.migrations.0006_one_tap_defaults").add_defaults(apps, None)
