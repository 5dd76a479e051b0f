"""One Redis connection pool per process for Django's cache.

Django keeps a cache backend per async context, and under ASGI every request is a new
context: each request built a new RedisCache, a new redis-py pool and so a new TCP
connection to Redis (a throttled create spent a tenth of its time connecting). With
`OPTIONS["pool_class"] = "core.cache.SharedConnectionPool"` the backends a process builds all
draw from one thread-safe pool per server URL and options.
"""

from __future__ import annotations

import threading
from typing import Any

from redis import ConnectionPool

_lock = threading.Lock()
_pools: dict[tuple[str, tuple[tuple[str, str], ...]], ConnectionPool] = {}


class SharedConnectionPool(ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = super().from_url(url, **kwargs)
            return pool
