"""The one exception handler: every API error leaves in the same shape."""

from __future__ import annotations

import logging

from django import db
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, UnreadablePostError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.errors import DomainError, ExternalServiceError, ServiceUnavailable, error_body

logger = logging.getLogger(__name__)

_DRF_CODES: dict[type, tuple[str, str]] = {
    drf.ParseError: ("malformed_request", "请求格式错误，无法解析请求内容"),
    drf.AuthenticationFailed: ("token_invalid", "登录凭证无效，请重新登录"),
    drf.NotAuthenticated: ("not_authenticated", "请先登录"),
    drf.PermissionDenied: ("forbidden", "没有权限执行此操作"),
    drf.NotFound: ("not_found", "内容不存在"),
    drf.MethodNotAllowed: ("method_not_allowed", "不支持该请求方法"),
    drf.NotAcceptable: ("not_acceptable", "无法提供所请求的格式"),
    drf.UnsupportedMediaType: ("unsupported_media_type", "不支持的请求内容类型"),
    drf.Throttled: ("rate_limited", "操作过于频繁，请稍后再试"),
}


def _flatten_validation(detail) -> dict:
    if isinstance(detail, dict):
        return {k: _flatten_validation(v) for k, v in detail.items()}
    if isinstance(detail, list):
        flat = [_flatten_validation(v) for v in detail]
        return flat  # type: ignore[return-value]
    return str(detail)


def api_exception_handler(exc, context) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, ExternalServiceError):
        # An adapter's failure (e.g. WeChat down) carries its own answer (wechat/errors.py).
        exc = exc.as_domain_error()
    if isinstance(exc, DomainError):
        if isinstance(exc, ServiceUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
        return Response(error_body(exc.code, exc.message, exc.detail), status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "内容不存在"), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("forbidden", "没有权限执行此操作"), status=403)
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        # The database went away mid-request (failover, restart, network): the transaction
        # was rolled back, so retrying is safe. Logged as an error, answered as a 503.
        logger.error("database unavailable during %s", getattr(context.get("request"), "path", "?"), exc_info=exc)
        return Response(
            error_body("database_unavailable", "服务暂时不可用，请稍后重试"), status=503, headers={"Retry-After": "5"}
        )
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        # The last line of defence: cache, throttles, token store and realtime degrade in place
        # (docs/deployment.md); a Redis call that escaped them must not become a 500. Redis holds
        # no rows, and the database transaction around the view was rolled back.
        logger.error("redis unavailable during %s", getattr(context.get("request"), "path", "?"), exc_info=exc)
        return Response(
            error_body("cache_unavailable", "服务暂时不可用，请稍后重试"), status=503, headers={"Retry-After": "5"}
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", "请求内容过大"), status=413)
    if isinstance(exc, UnreadablePostError):
        # The client stopped sending mid-body; if it is still listening it gets the shape.
        return Response(error_body("malformed_request", "请求内容不完整"), status=400)
    if isinstance(exc, drf.ValidationError):
        # `codes` lets a client tell "blank" from "max_length" without parsing the message.
        detail = {"fields": _flatten_validation(exc.detail), "codes": exc.get_codes()}
        return Response(error_body("invalid_input", "输入有误", detail), status=400)
    if isinstance(exc, drf.APIException):
        code, message = "error", str(exc.detail)
        for cls, (c, m) in _DRF_CODES.items():
            if isinstance(exc, cls):
                code, message = c, m
                break
        detail_code = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(exc, drf.AuthenticationFailed) and isinstance(detail_code, str) and detail_code.startswith("token_"):
            code = detail_code
            message = str(exc.detail)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    return None
