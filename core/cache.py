"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache backend per async context, and under ASGI every request is a new
context: each request built a new RedisCache, a new redis-py client and pool, and so a new
TCP connection to Redis (a throttled create spent a tenth of its time connecting, and the
client's construction alone still cost a few percent once the pool was shared). This backend's
instances, however many a process makes, share one thread-safe client per servers and options.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

_lock = threading.Lock()
_clients: dict[tuple[tuple[str, ...], str], RedisCacheClient] = {}


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
            return client
