"""Redis killed (-9) under the application: every write answers 2xx or 503 with Retry-After in
the error shape, never 500; events are still in the log for /events; and once Redis is back
everything uses it again without a restart.

The application is configured for Redis the way config/settings.py does with REDIS_URL
(core.cache.RedisCache, the pub/sub channel layer, short timeouts), pointed at a redis-server
this test starts on a free port and kills.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from channels.layers import channel_layers
from redis.backoff import NoBackoff
from redis.retry import Retry

from community.models import Comment, Post
from residents.models import ApiToken
from services.models import ServiceRequest
from tests import factories as f
from tests.community.conftest import make_post
from tests.conftest import Api, assert_error
from tests.redis_process import redis_process  # noqa: F401 (fixture)
from tests.services.conftest import MEAL, item
from wechat import client as wechat_client

pytestmark = [pytest.mark.redis, pytest.mark.urls("tests.trust.probe_urls"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def on_redis(settings, redis_process):  # noqa: F811
    timeout = settings.REDIS_TIMEOUT_SECONDS
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": redis_process.url,
            "KEY_PREFIX": "stq",
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout, "retry": Retry(NoBackoff(), 1)},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_process.url, "socket_connect_timeout": timeout}]},
        }
    }
    channel_layers.backends.clear()
    yield redis_process
    channel_layers.backends.clear()


class Tally:
    """Every answer of the outage, by status; the report's figures come from here."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def check(self, response, what: str):
        self.statuses.append(response.status_code)
        if response.status_code == 503:
            assert_error(response, 503)
            assert int(response["Retry-After"]) > 0, what
        else:
            assert 200 <= response.status_code < 300, (what, response.status_code, response.content[:300])
        return response


def _writes(world, post, tally: Tally, round_: int) -> dict:
    """One of each write the issue names: a comment (content check), a post, a service request,
    a login, and a keyed comment replayed. Returns what was created, by kind."""
    api = Api(world["resident"])
    api.client.raise_request_exception = False
    anon = Api()
    anon.client.raise_request_exception = False
    made = {}
    comment = tally.check(api.post(f"/api/v1/posts/{post.pk}/comments", {"body": f"楼道灯修好了{round_}"}), "comment")
    made["comment"] = comment.json().get("id")
    new_post = tally.check(
        api.post("/api/v1/posts", {"neighborhood_id": world["neighborhood"].pk, "section": "neighbors",
                                   "title": f"周末义卖{round_}", "body": "周六上午"}),
        "post",
    )
    made["post"] = new_post.json().get("id")
    request = tally.check(
        Api(world["son"]).post("/api/v1/service-requests", {"item": item("meal-delivery").pk, "extra": MEAL}),
        "service request",
    )
    made["service_request"] = request.json().get("id")
    login = tally.check(anon.post("/api/v1/auth/wechat", {"code": f"demo-outage{round_}-1"}), "login")
    made["login"] = login.json().get("token")
    key = {"Idempotency-Key": f"outage-{round_}"}
    first = tally.check(api.post(f"/api/v1/posts/{post.pk}/comments", {"body": "同意"}, headers=key), "keyed comment")
    again = tally.check(api.post(f"/api/v1/posts/{post.pk}/comments", {"body": "同意"}, headers=key), "replay")
    if first.status_code == 201:
        assert again.json() == first.json()
    return made


@pytest.fixture
def feed_world(neighborhood, wechat_standin):
    son = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, name="王阿婆", is_default=True)
    resident = f.resident(neighborhood)
    return {"neighborhood": neighborhood, "resident": resident, "son": son, "staff": f.staff(neighborhood)}


def _events(user, stream: str) -> list[dict]:
    response = Api(user).get("/api/v1/events", {"stream": stream, "limit": 100})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_writes_with_redis_killed_answer_2xx_or_503_and_work_again_when_it_returns(on_redis, seeded_catalog, feed_world):
    post = make_post(feed_world["neighborhood"], feed_world["staff"])
    tally = Tally()

    # Redis up: the WeChat token and the throttle counters are in it.
    _writes(feed_world, post, tally, round_=0)
    redis = on_redis.client()
    assert redis.keys("*wechat:*access_token") and redis.keys("*throttle_count_comment_*")
    # The worst case for the content check: this process has no copy of the token either.
    wechat_client._process_copy.clear()

    on_redis.kill()
    down = Tally()
    started = time.monotonic()
    made = _writes(feed_world, post, down, round_=1)
    elapsed = time.monotonic() - started
    assert 500 not in down.statuses and len(down.statuses) == 6
    # Nothing here depends on Redis to be correct, so everything succeeded (no 503 needed).
    assert all(200 <= s < 300 for s in down.statuses), down.statuses
    assert elapsed < 15, elapsed
    assert Comment.objects.filter(pk=made["comment"]).exists() and Post.objects.filter(pk=made["post"]).exists()
    assert ServiceRequest.objects.filter(pk=made["service_request"]).exists()
    assert ApiToken.objects.count() >= 2
    # The live publish failed, the events did not: clients resync from /events.
    neighborhood_events = _events(feed_world["resident"], f"neighborhood.{feed_world['neighborhood'].pk}")
    assert any(e["payload"].get("post_id") == made["post"] or e["payload"].get("id") == made["post"]
               for e in neighborhood_events), neighborhood_events
    staff_events = _events(feed_world["staff"], f"staff.neighborhood.{feed_world['neighborhood'].pk}")
    assert any(json.dumps(made["service_request"]) in json.dumps(e["payload"]) for e in staff_events), staff_events

    # A feature that reads the cache without degrading answers 503 + Retry-After, not 500.
    probe = Api(feed_world["resident"])
    probe.client.raise_request_exception = False
    unavailable = probe.get("/api/v1/_probe/cache")
    assert_error(unavailable, 503, "cache_unavailable")
    assert unavailable["Retry-After"] == "5"

    # Redis back on the same port, nothing restarted: the token and counters go to it again.
    on_redis.start()
    wechat_client._process_copy.clear()
    back = Tally()
    _writes(feed_world, post, back, round_=2)
    assert all(200 <= s < 300 for s in back.statuses), back.statuses
    redis = on_redis.client()
    assert redis.keys("*wechat:*access_token") and redis.keys("*throttle_count_comment_*")
    assert probe.get("/api/v1/_probe/cache").status_code == 200
    print(f"\nredis killed: {len(down.statuses)} writes, {down.statuses.count(500)} x 500, "
          f"{down.statuses.count(503)} x 503, {elapsed:.2f}s")


def test_throttles_count_again_once_redis_returns(on_redis, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "post": "2/min"},
    }
    api = Api(f.UserFactory())
    on_redis.kill()
    # Down: the throttle lets writes through rather than lose them.
    assert [api.post("/api/v1/_probe/posts", {}).status_code for _ in range(3)] == [201, 201, 201]
    on_redis.start()
    assert [api.post("/api/v1/_probe/posts", {}).status_code for _ in range(3)] == [201, 201, 429]


def test_a_stuck_redis_costs_a_write_a_bounded_wait_not_a_hang(on_redis, seeded_catalog, feed_world):
    """SIGSTOP: connections are accepted, nothing answers. Short socket timeouts and a bounded
    publish keep the comment (throttle, token, content check, event) within seconds."""
    post = make_post(feed_world["neighborhood"], feed_world["staff"])
    api = Api(feed_world["resident"])
    api.client.raise_request_exception = False
    assert api.post(f"/api/v1/posts/{post.pk}/comments", {"body": "先来一条"}).status_code == 201
    on_redis.proc.send_signal(signal.SIGSTOP)
    answers: list = []
    try:
        worker = threading.Thread(
            target=lambda: answers.append(api.post(f"/api/v1/posts/{post.pk}/comments", {"body": "卡住也要能写"})),
            daemon=True,
        )
        started = time.monotonic()
        worker.start()
        worker.join(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        on_redis.proc.send_signal(signal.SIGCONT)
    assert answers, "the write hung for 30 s"
    assert answers[0].status_code == 201, answers[0].content
    assert elapsed < 8, elapsed
    print(f"\nredis stopped: comment answered {answers[0].status_code} in {elapsed:.2f}s")
