"""A short-lived API token so a session-authenticated console page can open WS /ws/v1/.

Decision: the WebSocket consumer (notifications app) authenticates by API token only, and
that is right for the mini-program. Rather than teach it cookies (and then Origin checks
against cross-site WebSocket hijacking), the console page POSTs here — session + CSRF —
right before each connect, and offers the token as a WebSocket subprotocol (not in the
URL, so it never lands in access logs). The token lives five minutes: the consumer checks
it only at connect, and a reconnect asks for a new one.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import JsonResponse
from django.views.decorators.http import require_POST

from console.access import console_view
from residents.models import ApiToken

TOKEN_TTL = timedelta(minutes=5)


@require_POST
@console_view(moderation=True, units=True)
def realtime_token(request):
    token, raw = ApiToken.issue(request.user, user_agent="console-websocket", ttl=TOKEN_TTL)
    return JsonResponse({"token": raw, "expires_at": token.expires_at.isoformat()})
