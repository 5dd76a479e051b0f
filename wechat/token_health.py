"""The WeChat access token's age, for /readyz (core/health.py).

wechat/client.py records each stable-token fetch and each failed one in the shared cache
(Redis in production; per process without it). The check fails only when refreshing fails
and the token last fetched is older than READINESS_WECHAT_TOKEN_MAX_AGE_SECONDS (WeChat's own
lifetime by default): a quiet night with no token fetched is no failure, as the next call fetches one.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from core.health import CheckFailed

logger = logging.getLogger(__name__)


def _key() -> str:
    return f"wechat:{settings.WECHAT_APPID}:token_state"


def _read() -> dict:
    state = cache.get(_key())
    return state if isinstance(state, dict) else {}


def _write(state: dict) -> None:
    try:
        cache.set(_key(), state, timeout=None)
    except Exception as exc:  # the cache is away: the token itself falls back the same way
        logger.warning("wechat: token state not recorded (%s)", type(exc).__name__)


def record_fetched(expires_in: int) -> None:
    _write({"fetched_at": time.time(), "expires_in": expires_in, "failed_at": None})


def record_failed() -> None:
    try:
        state = _read()
    except Exception:
        state = {}
    _write({**state, "failed_at": time.time()})


def check_token() -> dict:
    state = _read()
    fetched_at, failed_at = state.get("fetched_at"), state.get("failed_at")
    age = round(time.time() - fetched_at) if fetched_at else None
    limit = settings.READINESS_WECHAT_TOKEN_MAX_AGE_SECONDS
    if failed_at and (age is None or age > limit):
        raise CheckFailed("access token cannot be refreshed", age_seconds=age, limit_seconds=limit)
    return {"age_seconds": age}
