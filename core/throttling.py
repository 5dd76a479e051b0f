"""Per-user abuse limits on the writes people could flood (DRF throttling, shared cache).

Put the class on the view that creates the thing:

    class PostListCreate(APIView):
        throttle_classes = [PostThrottle]

Only unsafe methods count, so a view serving both GET (list) and POST (create) is
throttled on creates alone. A signed-in caller is counted per user (on every server
process, since the cache is Redis in production); an anonymous one (login) per client IP
as core.net.client_ip sees it. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(env THROTTLE_<SCOPE>) and are read per request, so tests can override them.

Counting is atomic (core/ratelimit.py): N concurrent creates against a limit of L let exactly
L through, on every process at once when the cache is Redis. The window is fixed: it opens at
the first counted request and lasts the rate's period; Retry-After is what is left of it.
A request carrying an Idempotency-Key is counted once per key: its replays (the stored answer,
header Idempotent-Replayed) and a repeat still in flight pass uncounted, since they create
nothing; if the keyed attempt fails, core.idempotency releases the key so a retry counts. A
refused request whose key has a stored answer is let through too (the replay is the answer).

The limits that hold against any burst are database constraints in the apps: one like per user
per post, one report per user per post or comment, one support / ballot / evaluation per user
per topic (unique constraints), and the daily cap on posts (settings.POST_DAILY_CAP, unique
per-author-per-day slots, community.models.Post). Nothing else has a daily cap: comments,
reports, uploads, topics and service requests are limited by these throttles only.
If the cache is down the throttle lets the request through: losing rate limiting for a
while is better than losing writes.
"""

from __future__ import annotations

import hashlib
import logging

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core import ratelimit
from core.models import IdempotencyRecord
from core.net import client_ip

logger = logging.getLogger(__name__)


class ScopedUserThrottle(SimpleRateThrottle):
    scope = ""
    # Not DRF's throttle_…: those keys held a pickled list of times, these an integer.
    cache_format = "throttle_count_%(scope)s_%(ident)s"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request) -> str:
        return client_ip(request)

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS or self.rate is None:
            return True
        counter_key = self.get_cache_key(request, view)
        once_key = _idempotency_once_key(request)
        try:
            verdict = ratelimit.hit(counter_key, self.num_requests, self.duration, once_key)
        except Exception:
            logger.warning("throttle cache unavailable; letting %s through", self.scope, exc_info=True)
            return True
        if once_key is not None and verdict.counted:
            request._throttle_once_keys = [*getattr(request, "_throttle_once_keys", []), once_key]
        self._wait = verdict.wait
        if not verdict.allowed and once_key is not None and _has_stored_answer(request):
            return True
        return verdict.allowed

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def _idempotency_once_key(request) -> str | None:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    user = getattr(request, "user", None)
    if not key or user is None or not user.is_authenticated:
        return None
    # Hashed: the client chooses the key, and cache keys must stay short and printable.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"throttle_once_{user.pk}_{digest}"


def _has_stored_answer(request) -> bool:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    return IdempotencyRecord.objects.filter(user=request.user, key=key, status_code__isnull=False).exists()


def release_idempotency_keys(request) -> None:
    """The keyed attempt failed and stored no answer: a retry with its key must count."""
    for once_key in getattr(request, "_throttle_once_keys", []):
        try:
            ratelimit.forget(once_key)
        except Exception:
            logger.warning("throttle cache unavailable; key not released", exc_info=True)
    request._throttle_once_keys = []


class LoginThrottle(ScopedUserThrottle):
    """POST /auth/wechat: counted per client IP (callers are anonymous)."""

    scope = "login"


class PostThrottle(ScopedUserThrottle):
    scope = "post"


class CommentThrottle(ScopedUserThrottle):
    """Comments on posts and replies on topics."""

    scope = "comment"


class ReportThrottle(ScopedUserThrottle):
    scope = "report"


class ServiceRequestThrottle(ScopedUserThrottle):
    scope = "service_request"


class MatterThrottle(ScopedUserThrottle):
    """一键表达: a resident's reports (reading the lists is free)."""

    scope = "matter"


class UploadThrottle(ScopedUserThrottle):
    scope = "upload"


class TopicThrottle(ScopedUserThrottle):
    """New 议事 topics: rarer than posts, so a lower rate of their own."""

    scope = "topic"


class VoteThrottle(ScopedUserThrottle):
    """Supports (附议) and ballots. One per topic is a database constraint; this stops a
    script from sweeping every topic (and their changes of mind) in a burst."""

    scope = "vote"


class MembershipThrottle(ScopedUserThrottle):
    """Applications to join a 居委/村 and 亮身份 requests: each lands in a committee's queue."""

    scope = "membership"
