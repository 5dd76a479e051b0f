"""One middleware for what operations see of a request (docs/deployment.md, Logs and Metrics).

- The request id: a sane incoming `X-Request-ID` (a proxy's) or a new one, set in the logging
  context for every line written while the request runs (and for the tasks it enqueues,
  core/task_backend.py), and sent back in the `X-Request-ID` response header.
- The access line: logger `stq.access`, one per request, with method, route (the URL pattern,
  never the path or query: those can hold values), status, duration and the user's numeric id.
  Writes on the staff screens (a signed-in user's POST/PUT/PATCH/DELETE under /console/ or
  /admin/) also go to `stq.audit`: who (user id), what (route, method), when, with what result.
- The request's latency in the per-route histogram (core/metrics.py).

First in MIDDLEWARE, so its duration covers the others and its header is on every answer.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse

from core import request_context
from core.metrics import HTTP_DURATION

access_logger = logging.getLogger("stq.access")
audit_logger = logging.getLogger("stq.audit")

UNMATCHED_ROUTE = "<unmatched>"
# Probes and scrapes come every few seconds: counted in the metrics, not written to the log.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STAFF_SCREENS = ("/console/", "/admin/")


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.route or match.view_name or UNMATCHED_ROUTE) if match else UNMATCHED_ROUTE


def _user(request: HttpRequest):
    # DRF sets the bearer-token user on the Django request too; a session user is loaded by now.
    user = getattr(request, "user", None)
    return user if (user is not None and getattr(user, "is_authenticated", False)) else None


class RequestLogMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        rid = request_context.accept_request_id(request.headers.get("X-Request-ID"))
        request.request_id = rid
        tokens = request_context.bind(request_id=rid, user_id=None, route=None)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            self._record(request, response.status_code, started)
            return response
        except Exception:
            self._record(request, 500, started)
            raise
        finally:
            request_context.unbind(tokens)

    def _record(self, request: HttpRequest, status: int, started: float) -> None:
        duration = time.perf_counter() - started
        route = route_of(request)
        HTTP_DURATION.labels(request.method, route, str(status)).observe(duration)
        if request.path in QUIET_PATHS:
            return
        user = _user(request)
        request_context.route.set(route)
        request_context.user_id.set(user.pk if user else None)
        fields = {"method": request.method, "status": status, "duration_ms": round(duration * 1000, 1)}
        access_logger.info("%s %s %s", request.method, route, status, extra={"stq": fields})
        if user is not None and request.method in WRITE_METHODS and request.path.startswith(STAFF_SCREENS):
            audit_logger.info("staff %s %s %s", request.method, route, status, extra={"stq": fields})
