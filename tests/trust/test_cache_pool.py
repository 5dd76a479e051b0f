"""Django's cache on Redis: one client and pool per process, not a connection per request."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches

from core.cache import RedisCache


def test_the_backends_of_a_process_share_one_client():
    backends = [
        RedisCache("redis://127.0.0.1:6390/0", {"OPTIONS": {"socket_timeout": 2}}) for _ in range(2)
    ]
    assert backends[0]._cache is backends[1]._cache
    other_db = RedisCache("redis://127.0.0.1:6390/1", {"OPTIONS": {"socket_timeout": 2}})
    other_options = RedisCache("redis://127.0.0.1:6390/0", {"OPTIONS": {"socket_timeout": 5}})
    assert other_db._cache is not backends[0]._cache and other_options._cache is not backends[0]._cache


@pytest.mark.redis
def test_a_fresh_cache_backend_per_request_reuses_the_process_connection():
    """Under ASGI each request is a new context, so Django builds a new cache backend for it
    (caches.create_connection); those backends must not each open a connection to Redis."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL not set")
    import redis

    counter = redis.Redis.from_url(redis_url)

    def connections_received() -> int:
        return counter.info("stats")["total_connections_received"]

    caches.create_connection("default").get("warm")  # the process's pool, made once
    before = connections_received()
    for i in range(20):
        backend = caches.create_connection("default")  # what each ASGI request gets
        backend.set(f"stq-test-pool-{i}", i, 30)
        assert backend.get(f"stq-test-pool-{i}") == i
    # The counter's own connection was opened by the first reading; the pool's was reused.
    assert connections_received() - before <= 1
