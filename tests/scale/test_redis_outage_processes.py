"""Two real server processes on PostgreSQL and a Redis this test owns, kills (-9) and restarts.

- A burst of creates split over both processes against a limit of L passes exactly L: the
  count is one atomic step in Redis, shared by the processes. Replays of a stored
  Idempotency-Key answer, on either process, are neither counted nor refused.
- Redis killed: every write on either process answers 2xx or 503 with Retry-After, never 500;
  the events are in /events; once Redis is back, on the same port, the processes use it again
  without a restart.

Runs only where DATABASE_URL is PostgreSQL (CI's second pass), like test_two_processes.py.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from bench.stack import Stack, production_env
from community.models import Comment
from tests import factories as f
from tests.community.conftest import make_post
from tests.redis_process import RedisProcess
from tests.scale.database import shared_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="needs DATABASE_URL=postgres://… (CI's PostgreSQL pass)",
    ),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

LIMIT = 10


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker):
    database_url = shared_database_url()
    redis = RedisProcess()
    redis.start()
    stack = Stack()
    try:
        env = production_env(database_url=database_url, redis_url=redis.url, wechat_base="http://127.0.0.1:1/")
        env["DATABASE_CONN_MAX_AGE"] = "0"
        env["FIELD_ENCRYPTION_KEYS"] = ",".join(settings.FIELD_ENCRYPTION_KEYS)
        env["DJANGO_SECRET_KEY"] = settings.SECRET_KEY
        env["THROTTLE_COMMENT"] = f"{LIMIT}/min"
        env["WECHAT_API_BASE"] = stack.start_wechat_standin(env)
        a = stack.start_uvicorn(env, workers=1, name="server-a")
        b = stack.start_uvicorn(env, workers=1, name="server-b")
        stack.check_alive()
        yield {"a": a, "b": b, "redis": redis, "stack": stack}
    finally:
        stack.stop()
        redis.kill()
        shutil.rmtree(redis.dir, ignore_errors=True)


def _comment(base: str, token: str, post_id: int, body: str, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else None
    return _call(base, "POST", f"/api/v1/posts/{post_id}/comments", token=token, body={"body": body}, headers=headers)


def _call(base, method, path, *, token=None, body=None, headers=None):
    import urllib.error
    import urllib.request

    all_headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.mark.django_db(transaction=True)
def test_a_burst_over_two_processes_passes_exactly_the_limit_and_replays_are_free(servers):
    neighborhood = f.NeighborhoodFactory()
    author, flooder, tapper = f.resident(neighborhood), f.resident(neighborhood), f.resident(neighborhood)
    post = make_post(neighborhood, author)
    token = f.token_for(flooder)
    bases = [servers["a"], servers["b"]]

    attempts = 4 * LIMIT
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda i: _comment(bases[i % 2], token, post.pk, f"第{i}条"), range(attempts)))
    statuses = [status for status, _, _ in answers]
    assert statuses.count(201) == LIMIT, statuses
    assert statuses.count(429) == attempts - LIMIT, statuses
    assert Comment.objects.filter(author=flooder).count() == LIMIT
    print(f"\nburst: {attempts} creates over 2 processes, limit {LIMIT}: {statuses.count(201)} passed")

    # One keyed create, replayed on both processes: the replays take nothing from the allowance.
    tap = f.token_for(tapper)
    status, _, first = _comment(servers["a"], tap, post.pk, "同意", key="tap-1")
    assert status == 201
    with ThreadPoolExecutor(max_workers=8) as pool:
        replays = list(pool.map(lambda i: _comment(bases[i % 2], tap, post.pk, "同意", key="tap-1"), range(20)))
    # (json.loads: jsonb keeps the stored answer's keys in its own order)
    assert all(
        s == 201 and h.get("Idempotent-Replayed") == "true" and json.loads(b) == json.loads(first) for s, h, b in replays
    ), (first, replays[:2])
    fresh = [_comment(bases[i % 2], tap, post.pk, f"新{i}")[0] for i in range(LIMIT)]
    assert fresh == [201] * (LIMIT - 1) + [429]
    # At the limit, a replay of the stored answer is still answered.
    status, headers, body = _comment(servers["b"], tap, post.pk, "同意", key="tap-1")
    assert status == 201 and json.loads(body) == json.loads(first)


@pytest.mark.django_db(transaction=True)
def test_redis_killed_under_two_processes_no_write_answers_500_and_they_recover(servers):
    neighborhood = f.NeighborhoodFactory()
    author, writer = f.resident(neighborhood), f.resident(neighborhood)
    post = make_post(neighborhood, author)
    token = f.token_for(writer)
    bases = [servers["a"], servers["b"]]
    redis = servers["redis"]

    def write(i: int):
        base = bases[i % 2]
        kind = i % 3
        if kind == 0:
            return _comment(base, token, post.pk, f"停电了吗{i}")
        if kind == 1:
            return _call(base, "POST", "/api/v1/posts", token=token,
                         body={"neighborhood_id": neighborhood.pk, "section": "neighbors", "title": f"通知{i}", "body": "周六"})
        return _call(base, "POST", "/api/v1/auth/wechat", body={"code": f"demo-outage-{i}"})

    assert write(0)[0] == 201  # warm: the token is in Redis
    redis.kill()
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(write, range(1, 31)))
    statuses = [status for status, _, _ in answers]
    print(f"\nredis killed under 2 processes: {len(statuses)} writes, {statuses.count(500)} x 500, "
          f"{statuses.count(503)} x 503, {sum(200 <= s < 300 for s in statuses)} x 2xx")
    assert 500 not in statuses, statuses
    for status, headers, body in answers:
        assert 200 <= status < 300 or (status == 503 and int(headers["Retry-After"]) > 0), (status, body[:200])
    # Every comment made during the outage has its event in the log.
    made = {
        json.loads(body)["id"]
        for i, (status, _, body) in enumerate(answers, start=1)
        if i % 3 == 0 and status == 201
    }
    status, _, body = _call(servers["b"], "GET", f"/api/v1/events?stream=neighborhood.{neighborhood.pk}&limit=100",
                            token=f.token_for(author))
    assert status == 200, body
    logged = {e["payload"].get("comment_id") for e in json.loads(body)["results"] if e["type"] == "comment.created"}
    assert made and made <= logged, (made, logged)

    redis.start()  # the same port; the servers are not restarted
    assert all(write(i)[0] in (200, 201) for i in range(31, 37))
    counters = redis.client().keys("*throttle_count_comment_*")
    assert counters, "the processes count in Redis again"
