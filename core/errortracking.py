"""Error reporting to a Sentry-compatible service (Sentry, GlitchTip, a self-hosted Sentry):
off unless SENTRY_DSN is set (config/settings.py calls `init`).

Nothing personal leaves: `send_default_pii` is off (no user names, emails, IPs, cookies), and
`scrub` drops what the SDK would still attach from a request — the body, the query string,
cookies and every header but a few harmless ones — and reduces the user to its numeric id.
Local variables in stack frames are not sent (`include_local_variables=False`): a frame of an
action holds the phone number it was handling.
"""

from __future__ import annotations

KEPT_HEADERS = frozenset({"content-type", "content-length", "user-agent", "x-request-id"})


def scrub(event: dict, hint: dict | None = None) -> dict:
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "query_string", "cookies", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return event


def init(dsn: str, *, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub,
        before_send_transaction=scrub,
        integrations=[DjangoIntegration()],
    )
