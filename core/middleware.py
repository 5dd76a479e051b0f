"""Request-level hardening no single app owns.

- ApiErrorShapeMiddleware keeps the API's one error shape even where Django answers
  before any view runs (unmatched URLs, DEBUG's technical pages, CSRF failures, oversized bodies).
- RequestBodyLimitMiddleware refuses a declared body over the limit with 413 before it is read.
- ResponseHeadersMiddleware: no-store on API answers, the docs page's own CSP, Permissions-Policy.
- FormTextMiddleware cleans the text of form posts outside the API (console, admin) the way
  core.parsers cleans API bodies (core/text.py).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.csp import CSP

from core.errors import error_body
from core.text import clean_user_text
from core.views import _error

API_PREFIXES = ("/api/", "/wechat/")

_STATUS_CODES = {
    400: ("bad_request", "请求无效"),
    401: ("not_authenticated", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "内容不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    500: ("server_error", "服务器内部错误，请稍后重试"),
}


class ApiErrorShapeMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith(API_PREFIXES)
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            code, message = _STATUS_CODES.get(
                response.status_code, ("server_error" if response.status_code >= 500 else "bad_request", "请求失败")
            )
            replacement = HttpResponse(
                json.dumps(error_body(code, message), ensure_ascii=False),
                status=response.status_code,
                content_type="application/json",
            )
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response


# Room for the multipart envelope and the small form fields next to an image.
MULTIPART_OVERHEAD_BYTES = 256 * 1024

# The docs page (drf-spectacular's split Swagger view, its bundle from drf-spectacular-sidecar's
# static files) loads only from this origin; Swagger UI styles itself with inline styles, so only
# styles get 'unsafe-inline'. No CDN: the page works without internet.
DOCS_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}


def body_limit_for(request: HttpRequest) -> int:
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data"):
        return settings.MAX_IMAGE_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestBodyLimitMiddleware:
    """413 in the error shape for a declared body over the limit, before anything reads it.

    Django itself enforces DATA_UPLOAD_MAX_MEMORY_SIZE when a body is read (also for a
    chunked body on ASGI) and the API's exception handler turns that into the same 413;
    this catches file uploads too, which Django would otherwise stream to disk unbounded.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit_for(request)
        declared = request.META.get("CONTENT_LENGTH") or ""
        try:
            length = int(declared) if declared else None
        except ValueError:
            return _error(request, 400, "invalid_content_length", "Content-Length 无效")
        if length is not None and length > limit:
            return _too_large(request, limit)
        return self.get_response(request)


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    response = _error(request, 413, "payload_too_large", f"请求内容过大（上限 {limit // 1024} KB）")
    # The client is still sending the body we refuse to read: do not reuse the connection.
    response["Connection"] = "close"
    return response


class ResponseHeadersMiddleware:
    """API answers are personal data: never stored by a shared cache. The docs page gets its own CSP.

    Must sit after ContentSecurityPolicyMiddleware in MIDDLEWARE so its response hook runs first.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            response.setdefault("Cache-Control", "no-store")
        if request.path.startswith("/api/docs/"):
            response._csp_config = DOCS_CSP
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        return response


# Secrets are compared as typed, never rewritten.
_UNCLEANED_FIELDS = ("csrfmiddlewaretoken", "password", "password1", "password2", "old_password", "new_password1", "new_password2")


class FormTextMiddleware:
    """The console and admin read `request.POST` in many views; cleaning it here, once,
    keeps zero-width and bidi characters out of staff notes, replies and announcements
    the same way core.parsers keeps them out of the API. The API is left to its parsers
    (reading POST here would consume the body DRF parses)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and not request.path.startswith(API_PREFIXES):
            content_type = request.META.get("CONTENT_TYPE", "")
            if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                cleaned = request.POST.copy()
                for key, values in request.POST.lists():
                    if key not in _UNCLEANED_FIELDS:
                        cleaned.setlist(key, [clean_user_text(value) for value in values])
                cleaned._mutable = False
                request.POST = cleaned
        return self.get_response(request)
