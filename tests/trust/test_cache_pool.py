"""Django's cache on Redis: one connection pool per process, not a connection per request."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches

from core.cache import SharedConnectionPool


def test_a_url_and_its_options_map_to_one_pool():
    a = SharedConnectionPool.from_url("redis://127.0.0.1:6390/0", socket_timeout=2)
    assert SharedConnectionPool.from_url("redis://127.0.0.1:6390/0", socket_timeout=2) is a
    assert SharedConnectionPool.from_url("redis://127.0.0.1:6390/1", socket_timeout=2) is not a
    assert SharedConnectionPool.from_url("redis://127.0.0.1:6390/0", socket_timeout=5) is not a


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
