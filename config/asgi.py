"""ASGI entry: HTTP through Django, WebSocket /ws/v1/ through channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from notifications.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The mini-program sends no Origin we can rely on; tokens authenticate.
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
