"""Django's Redis cache with one client, and so one connection pool, per process; and the
get/set for values that only save work, which treat a cache outage as a miss.

Django keeps a cache backend per async context, and under ASGI every request is a new
context: each request built a new RedisCache, a new redis-py client and pool, and so a new
TCP connection to Redis (a throttled create spent a tenth of its time connecting, and the
client's construction alone still cost a few percent once the pool was shared). This backend's
instances, however many a process makes, share one thread-safe client per servers and options.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

logger = logging.getLogger(__name__)

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


def get_if_up(key: str) -> Any:
    """`cache.get` for a value that only saves work: None (a miss) while the cache is down."""
    try:
        return cache.get(key)
    except Exception as exc:
        logger.warning("cache unreachable (%s); treating %s as a miss", exc, key.split(":", 1)[0])
        return None


def set_if_up(key: str, value: Any, timeout: int) -> None:
    """`cache.set` for a value that only saves work: nothing while the cache is down."""
    try:
        cache.set(key, value, timeout)
    except Exception as exc:
        logger.warning("cache unreachable (%s); %s not stored", exc, key.split(":", 1)[0])
