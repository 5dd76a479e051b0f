"""ASGI entry: HTTP through Django, WebSocket /ws/v1/ through channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application does first

from core.asgi import OneHopASGIHandler  # noqa: E402

# The middleware chain and the view in one thread per request, one hand-off from the loop (core/asgi.py).
django_asgi_app = OneHopASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from notifications.routing import websocket_urlpatterns  # noqa: E402

http_app = django_asgi_app
from django.conf import settings  # noqa: E402

if settings.BENCH:
    # The bench's bare Django view, without middleware, beside the ceiling endpoint (bench/bare.py).
    from bench.bare import with_bare_route

    http_app = with_bare_route(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # The mini-program sends no Origin we can rely on; tokens authenticate.
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
