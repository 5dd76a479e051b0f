"""JSON error pages for paths outside DRF views, and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import error_body


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/wechat/", "/ws/")) or "application/json" in request.headers.get("Accept", "")


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False})
    return HttpResponse(f"<h1>{status}</h1><p>{message}</p>", status=status, content_type="text/html; charset=utf-8")


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", "请求无效")


def permission_denied(request, exception=None):
    return _error(request, 403, "forbidden", "没有权限执行此操作")


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", "内容不存在")


def server_error(request):
    return _error(request, 500, "server_error", "服务器内部错误，请稍后重试")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})




def csrf_failure(request, reason: str = ""):
    """CSRF refusals (console and admin forms) in Chinese, without Django's debug page."""
    return _error(request, 403, "csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试")
