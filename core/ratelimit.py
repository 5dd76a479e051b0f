"""Atomic request counting for the throttles (core/throttling.py).

`hit(counter_key, limit, window, once_key)` counts one request in a fixed window that opens
at the first counted request and lasts `window` seconds, and says whether it is within
`limit`. The check and the count are one step, so N concurrent requests against a limit of
L let exactly L through:

- With Redis as the cache (REDIS_URL) the step is one Lua script (INCR, PEXPIRE on the first
  hit, PTTL), run on the cache's own client: every server process shares the counters, and a
  request costs one round trip, as before. The script is atomic on the Redis side, which a
  get-then-set (DRF's SimpleRateThrottle) or Django's `cache.incr` (EXISTS, then INCRBY) is not.
- Without Redis (the embedded default) the counters are a dict behind a lock in this
  process: exact for one process (what `make run` starts), per process if there are several.

`once_key` names something that must be counted at most once, an Idempotency-Key: while its
marker lives (ONCE_TTL), further requests carrying it are let through uncounted, because they
replay a stored answer or wait for one and create nothing. `forget()` drops the marker when
the keyed attempt failed, so a retry with the same key is counted (otherwise failing attempts
could bank uncounted creates).

Why not a library: `limits` would open a second Redis pool per process with its own timeouts
and error types, and neither it nor django-ratelimit (a view decorator built on
`cache.add` + `cache.incr`) has the count-a-key-once step; the script is nine lines.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoScriptError

# Replays of a stored answer come seconds or minutes after the first attempt; a day is ample.
ONCE_TTL = 24 * 3600

# KEYS[1] counter, KEYS[2] once-marker (optional). ARGV: limit, window ms, marker ttl ms.
# Returns {allowed, counted, ms until the window closes}.
_SCRIPT = """
if #KEYS > 1 and redis.call('EXISTS', KEYS[2]) == 1 then return {1, 0, 0} end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
if n > tonumber(ARGV[1]) then return {0, 1, ttl} end
if #KEYS > 1 then redis.call('SET', KEYS[2], 1, 'PX', ARGV[3]) end
return {1, 1, ttl}
"""
_SCRIPT_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    counted: bool
    wait: float  # seconds until the window closes (meaningful when refused)


def hit(counter_key: str, limit: int, window: int, once_key: str | None = None) -> Verdict:
    """Count one request. Raises the cache's errors (redis.exceptions.RedisError): the
    caller decides whether an outage lets requests through."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _hit_redis(cache, counter_key, limit, window, once_key)
    return _hit_local(counter_key, limit, window, once_key)


def forget(once_key: str) -> None:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        key = cache.make_and_validate_key(once_key)
        cache._cache.get_client(key, write=True).delete(key)
        return
    with _lock:
        _markers.pop(once_key, None)


def _hit_redis(cache: RedisCache, counter_key: str, limit: int, window: int, once_key: str | None) -> Verdict:
    keys = [cache.make_and_validate_key(counter_key)]
    if once_key is not None:
        keys.append(cache.make_and_validate_key(once_key))
    # Both keys on the client that owns the counter: one server, or one script per key slot.
    client = cache._cache.get_client(keys[0], write=True)
    args = (limit, window * 1000, ONCE_TTL * 1000)
    try:
        allowed, counted, ttl_ms = client.evalsha(_SCRIPT_SHA, len(keys), *keys, *args)
    except NoScriptError:  # a restarted Redis has forgotten the script
        allowed, counted, ttl_ms = client.eval(_SCRIPT, len(keys), *keys, *args)
    return Verdict(bool(allowed), bool(counted), max(int(ttl_ms), 0) / 1000)


_lock = threading.Lock()
_counters: dict[str, tuple[int, float]] = {}  # key → (count, monotonic time the window closes)
_markers: dict[str, float] = {}  # once key → monotonic expiry
_SWEEP_EVERY = 1000
_hits_since_sweep = 0


def _hit_local(counter_key: str, limit: int, window: int, once_key: str | None) -> Verdict:
    global _hits_since_sweep
    now = time.monotonic()
    with _lock:
        _hits_since_sweep += 1
        if _hits_since_sweep >= _SWEEP_EVERY:
            _sweep(now)
        if once_key is not None and _markers.get(once_key, 0) > now:
            return Verdict(True, False, 0)
        count, closes = _counters.get(counter_key, (0, 0.0))
        if closes <= now:
            count, closes = 0, now + window
        count += 1
        _counters[counter_key] = (count, closes)
        if count > limit:
            return Verdict(False, True, closes - now)
        if once_key is not None:
            _markers[once_key] = now + ONCE_TTL
        return Verdict(True, True, closes - now)


def _sweep(now: float) -> None:
    global _hits_since_sweep
    _hits_since_sweep = 0
    for key in [k for k, (_, closes) in _counters.items() if closes <= now]:
        del _counters[key]
    for key in [k for k, expires in _markers.items() if expires <= now]:
        del _markers[key]


def reset_local() -> None:
    """Forget this process's counters (tests: user ids repeat from one test to the next)."""
    with _lock:
        _counters.clear()
        _markers.clear()
