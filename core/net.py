"""Who is on the other end of a request, for lockouts and throttles.

Behind N reverse proxies (TRUSTED_PROXY_HOPS) the client is the N-th address from the
right of X-Forwarded-For; the ones further left are whatever the client wrote and must
not be trusted, or anyone could dodge a per-IP limit by inventing a header.
"""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    if request is None:
        return ""
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if hops <= 0 or not forwarded:
        return remote_addr
    addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
    if not addresses:
        return remote_addr
    return addresses[-min(hops, len(addresses))]
