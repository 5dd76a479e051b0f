"""Keep the API's one error shape even where Django answers before any view runs
(unmatched URLs, DEBUG's technical pages, CSRF failures, oversized bodies)."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from core.errors import error_body

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
