"""A bare Django view on the same server: the other end of the ceiling.

`/api/v1/bench/ceiling` (bench/views.py) is the cheapest endpoint the real stack serves: the
full middleware, DRF, bearer authentication. This is what Django itself costs per request on
the same uvicorn process: one plain function view returning the same constant body, resolved
by the same URLconf, through a handler with no middleware at all (`BareHandler`). bench/load.py
reports both, so a cheaper ceiling never hides a slower row (issue 20, target 6: the constant
endpoint ≥ 0.6× this). config/asgi.py routes `BARE_PATH` here only when BENCH is true.
"""

from __future__ import annotations

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse

BARE_PATH = "/api/v1/bench/bare"
BODY = b'{"ok":true,"results":[],"next_cursor":null}'


def bare_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BODY, content_type="application/json")


class BareHandler(ASGIHandler):
    """Django's ASGI handler with an empty middleware chain (what `MIDDLEWARE = []` gives)."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(
            self._get_response_async if is_async else self._get_response
        )


def with_bare_route(app):
    """`app`, with requests for BARE_PATH served by a BareHandler instead."""
    bare = BareHandler()

    async def route(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == BARE_PATH:
            return await bare(scope, receive, send)
        return await app(scope, receive, send)

    return route
