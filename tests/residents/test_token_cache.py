"""The per-process token cache (residents/token_cache.py): a token checked a moment ago costs no
database read; whatever the application changes about a token or its user is seen at once in
this process; a row changed behind the application's back after one window. Across processes:
tests/scale/test_token_revocation.py."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from residents.models import ApiToken
from tests import factories as f
from tests.conftest import assert_error

CEILING = "/api/v1/bench/ceiling"
pytestmark = pytest.mark.urls("tests.scale.urls_with_bench")


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.API_TOKEN_CACHE_SECONDS = 1.0  # the production default; config/settings_test.py turns it off


def _queries(client, path: str = CEILING) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response.status_code, [q["sql"] for q in captured.captured_queries]


def test_a_token_checked_a_moment_ago_reads_nothing(db, api_for, neighborhood):
    client = api_for(f.resident(neighborhood))
    status, first = _queries(client)
    assert status == 200 and any("residents_apitoken" in sql for sql in first)
    status, second = _queries(client)
    assert status == 200 and second == []


def test_logout_is_refused_at_once_in_the_same_process(db, api_for, neighborhood):
    client = api_for(f.resident(neighborhood))
    assert client.get(CEILING).status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert_error(client.get(CEILING), 401, "token_invalid")


def test_a_ban_is_refused_at_once_and_a_profile_change_is_seen_at_once(db, api_for, neighborhood):
    from residents.actions import do_ban_user

    user = f.resident(neighborhood)
    client = api_for(user)
    assert client.get("/api/v1/me").status_code == 200
    assert client.patch("/api/v1/me", {"nickname": "新昵称"}).status_code == 200
    assert client.get("/api/v1/me").json()["nickname"] == "新昵称"
    do_ban_user(user_id=user.pk, actor=None)
    assert_error(client.get("/api/v1/me"), 401, "token_invalid")


def test_an_expired_token_is_refused_from_the_cache(db, api_for, neighborhood):
    user = f.resident(neighborhood)
    token, raw = ApiToken.issue(user, ttl=timedelta(seconds=1))
    client = api_for(None)
    client.client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(CEILING).status_code == 200
    time.sleep(1.05)
    assert_error(client.get(CEILING), 401, "token_expired")


@override_settings(API_TOKEN_CACHE_SECONDS=0.2, REDIS_URL="")
def test_without_redis_a_row_revoked_behind_the_cache_is_refused_after_one_window(db, api_for, neighborhood):
    # What another process's logout looks like to this one without Redis: the row changes, no
    # signal arrives. After the window the database is read again.
    user = f.resident(neighborhood)
    client = api_for(user)
    assert client.get(CEILING).status_code == 200
    ApiToken.objects.filter(user=user).update(revoked_at=timezone.now())
    time.sleep(0.25)
    assert_error(client.get(CEILING), 401, "token_invalid")


@override_settings(API_TOKEN_CACHE_SECONDS=0)
def test_a_zero_window_turns_the_cache_off(db, api_for, neighborhood):
    client = api_for(f.resident(neighborhood))
    assert client.get(CEILING).status_code == 200
    status, second = _queries(client)
    assert status == 200 and any("residents_apitoken" in sql for sql in second)
