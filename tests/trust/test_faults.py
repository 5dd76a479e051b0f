"""Faults: the database dropping mid-request, Redis going away."""

from __future__ import annotations

import pytest

from core.models import IdempotencyRecord
from notifications.realtime import publish_on_commit
from tests import factories as f
from tests.conftest import Api, assert_error

pytestmark = pytest.mark.urls("tests.trust.probe_urls")


def test_database_dropping_mid_request_answers_the_error_shape_and_keeps_no_half_write(db):
    user = f.UserFactory()
    api = Api(user)
    api.client.raise_request_exception = False
    response = api.post("/api/v1/_probe/drop-connection", {})
    assert_error(response, 503, "database_unavailable")
    assert response["Retry-After"] == "5"
    assert not IdempotencyRecord.objects.filter(user=user).exists()


def test_an_unexpected_crash_on_an_api_path_is_json_not_an_html_page():
    from django.test import RequestFactory

    from core.views import server_error

    assert_error(server_error(RequestFactory().get("/api/v1/anything")), 500, "server_error")


@pytest.mark.django_db(transaction=True)
def test_redis_going_away_does_not_fail_writes(settings, django_capture_on_commit_callbacks):
    dead = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead]}}
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    user = f.UserFactory()
    # A throttled write goes through (the throttle fails open) ...
    assert Api(user).post("/api/v1/_probe/posts", {}).status_code == 201
    # ... and an event published on commit is stored even though the broadcast fails.
    from django.db import transaction

    with transaction.atomic():
        event = publish_on_commit(f"user.{user.pk}", "probe", {"x": 1})
    from notifications.models import Event

    assert Event.objects.filter(pk=event.pk).exists()
    channel_layers.backends.clear()
