"""Throttles count atomically: N requests at once against a limit of L let exactly L through,
on the embedded default (one process's lock) and on a real Redis shared by every process.
A replay of a stored Idempotency-Key answer is never counted and never refused."""

from __future__ import annotations

import threading

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.models import IdempotencyRecord
from core.throttling import PostThrottle
from tests import factories as f
from tests.conftest import Api, assert_error
from tests.redis_process import redis_process  # noqa: F401 (fixture)

pytestmark = pytest.mark.urls("tests.trust.probe_urls")

LIMIT = 30
ATTEMPTS = 60


@pytest.fixture
def rate_30(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "post": f"{LIMIT}/min"},
    }


@pytest.fixture
def on_redis(settings, redis_process):  # noqa: F811
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": redis_process.url,
            "KEY_PREFIX": "stq",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return redis_process


class _User:
    """Enough of a signed-in user for a throttle, so the threads need no database."""

    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = pk


def _parallel_creates(user_pk: int, attempts: int) -> list[bool]:
    """`attempts` POSTs by one user, each on its own thread, released together."""
    factory = APIRequestFactory()
    start = threading.Barrier(attempts)
    verdicts: list[bool] = []
    lock = threading.Lock()

    def create() -> None:
        request = Request(factory.post("/api/v1/posts"))
        request.user = _User(user_pk)
        start.wait()
        allowed = PostThrottle().allow_request(request, None)
        with lock:
            verdicts.append(allowed)

    threads = [threading.Thread(target=create) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return verdicts


def test_sixty_creates_at_once_against_thirty_a_minute_let_thirty_through(rate_30):
    verdicts = _parallel_creates(user_pk=41, attempts=ATTEMPTS)
    assert len(verdicts) == ATTEMPTS
    assert verdicts.count(True) == LIMIT


@pytest.mark.redis
def test_on_redis_sixty_creates_at_once_let_exactly_thirty_through(rate_30, on_redis):
    verdicts = _parallel_creates(user_pk=42, attempts=ATTEMPTS)
    assert len(verdicts) == ATTEMPTS
    assert verdicts.count(True) == LIMIT
    # The count is in Redis, where every server process reads it, and it expires.
    client = on_redis.client()
    [key] = client.keys("*throttle_count_post_user:42")
    assert int(client.get(key)) == ATTEMPTS and 0 < client.pttl(key) <= 60_000


@pytest.fixture
def rate_2(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "post": "2/min"},
    }


def _replays_are_free(user) -> None:
    api = Api(user)
    first = api.post("/api/v1/_probe/keyed-posts", {"title": "a"}, headers={"Idempotency-Key": "tap-a"})
    assert first.status_code == 201
    for _ in range(5):
        replay = api.post("/api/v1/_probe/keyed-posts", {"title": "a"}, headers={"Idempotency-Key": "tap-a"})
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    # The replays took nothing from the allowance: a second create still passes ...
    second = api.post("/api/v1/_probe/keyed-posts", {"title": "b"}, headers={"Idempotency-Key": "tap-b"})
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    # ... the third is refused ...
    assert_error(api.post("/api/v1/_probe/keyed-posts", {"title": "c"}, headers={"Idempotency-Key": "tap-c"}), 429)
    # ... and a replay of a stored answer is still answered once the limit is reached.
    late = api.post("/api/v1/_probe/keyed-posts", {"title": "a"}, headers={"Idempotency-Key": "tap-a"})
    assert late.status_code == 201 and late.json() == first.json()
    assert IdempotencyRecord.objects.filter(user=user).count() == 2


def test_replays_of_a_stored_answer_are_not_counted_or_refused(db, rate_2):
    _replays_are_free(f.UserFactory())


@pytest.mark.redis
def test_on_redis_replays_of_a_stored_answer_are_not_counted_or_refused(db, rate_2, on_redis):
    _replays_are_free(f.UserFactory())


def test_a_retry_with_the_key_of_a_failed_attempt_is_counted(db, rate_2):
    """Otherwise failing attempts could bank keys whose later creates cost nothing."""
    api = Api(f.UserFactory())
    refused = api.post("/api/v1/_probe/keyed-posts", {"title": ""}, headers={"Idempotency-Key": "k1"})
    assert_error(refused, 400)
    assert api.post("/api/v1/_probe/keyed-posts", {"title": "x"}, headers={"Idempotency-Key": "k1"}).status_code == 201
    assert_error(api.post("/api/v1/_probe/keyed-posts", {"title": "y"}, headers={"Idempotency-Key": "k2"}), 429)
