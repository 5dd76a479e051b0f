"""Abuse limits: a user who floods a create endpoint gets 429 in the error shape."""

from __future__ import annotations

import pytest
from django.test import Client

from core import throttling
from tests import factories as f
from tests.conftest import assert_error

pytestmark = pytest.mark.urls("tests.trust.probe_urls")


@pytest.fixture
def tight_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "post": "2/min", "login": "2/min"},
    }


def test_third_post_in_a_minute_is_429_with_retry_after(api_for, db, tight_rates):
    api = api_for(f.UserFactory())
    assert api.post("/api/v1/_probe/posts", {}).status_code == 201
    assert api.post("/api/v1/_probe/posts", {}).status_code == 201
    response = api.post("/api/v1/_probe/posts", {})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 61


def test_reading_is_not_throttled(api_for, db, tight_rates):
    api = api_for(f.UserFactory())
    for _ in range(5):
        assert api.get("/api/v1/_probe/posts").status_code == 200


def test_one_users_flood_does_not_limit_another(api_for, db, tight_rates):
    flooder, neighbour = api_for(f.UserFactory()), api_for(f.UserFactory())
    for _ in range(3):
        flooder.post("/api/v1/_probe/posts", {})
    assert_error(flooder.post("/api/v1/_probe/posts", {}), 429)
    assert neighbour.post("/api/v1/_probe/posts", {}).status_code == 201


def test_a_user_cannot_dodge_the_limit_with_a_second_token(api_for, db, tight_rates):
    user = f.UserFactory()
    api_for(user).post("/api/v1/_probe/posts", {})
    api_for(user).post("/api/v1/_probe/posts", {})
    assert_error(api_for(user).post("/api/v1/_probe/posts", {}), 429, "rate_limited")


def test_login_is_limited_per_client_ip_and_forwarded_for_is_not_trusted(db, tight_rates):
    client = Client()
    for i in range(2):
        assert client.post("/api/v1/_probe/login", {}, HTTP_X_FORWARDED_FOR=f"1.1.1.{i}").status_code == 200
    assert_error(client.post("/api/v1/_probe/login", {}, HTTP_X_FORWARDED_FOR="9.9.9.9"), 429, "rate_limited")
    assert client.post("/api/v1/_probe/login", {}, REMOTE_ADDR="10.1.1.1").status_code == 200


def test_default_rates_exist_for_every_scope(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    for cls in [
        throttling.LoginThrottle, throttling.PostThrottle, throttling.CommentThrottle,
        throttling.ReportThrottle, throttling.ServiceRequestThrottle, throttling.UploadThrottle,
    ]:
        assert rates[cls.scope], cls


def test_when_the_cache_is_down_writes_still_go_through(api_for, db, tight_rates, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    api = api_for(f.UserFactory())
    for _ in range(3):
        assert api.post("/api/v1/_probe/posts", {}).status_code == 201
