"""Per-user abuse limits on the writes people could flood (DRF throttling, shared cache).

Put the class on the view that creates the thing:

    class PostListCreate(APIView):
        throttle_classes = [PostThrottle]

Only unsafe methods count, so a view serving both GET (list) and POST (create) is
throttled on creates alone. A signed-in caller is counted per user (on every server
process, since the cache is Redis in production); an anonymous one (login) per client IP
as core.net.client_ip sees it. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(env THROTTLE_<SCOPE>) and are read per request, so tests can override them.

Counters are a soft limit: two requests racing can both pass at the edge. The limits that
hold exactly are database constraints in the apps: one like per user per post, one report
per user per post or comment, one support / ballot / evaluation per user per topic (unique
constraints), and the daily cap on posts (settings.POST_DAILY_CAP, unique per-author-per-day
slots, community.models.Post). Nothing else has a daily cap: comments, reports, uploads,
topics and service requests are limited by these throttles only.
If the cache is down the throttle lets the request through: losing rate limiting for a
while is better than losing writes.
"""

from __future__ import annotations

import logging

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.net import client_ip

logger = logging.getLogger(__name__)


class ScopedUserThrottle(SimpleRateThrottle):
    scope = ""

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
        if request.method in SAFE_METHODS:
            return True
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("throttle cache unavailable; letting %s through", self.scope, exc_info=True)
            return True


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
