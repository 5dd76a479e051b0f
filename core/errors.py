"""Domain errors. Actions and access helpers raise these; one handler turns them into
the API error shape `{"error": {"code", "message", "detail"}}` (core.exceptions)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    default_code = "bad_request"
    default_message = "请求无效"

    def __init__(self, code: str | None = None, message: str | None = None, **detail: Any) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(f"{self.code}: {self.message}")


class InvalidInput(DomainError):
    status_code = 400
    default_code = "invalid_input"
    default_message = "输入有误"


class NotAuthenticated(DomainError):
    status_code = 401
    default_code = "not_authenticated"
    default_message = "请先登录"


class Forbidden(DomainError):
    """The caller may see the thing but may not do this to it (e.g. unverified member)."""

    status_code = 403
    default_code = "forbidden"
    default_message = "没有权限执行此操作"


class NotFound(DomainError):
    """Also what a caller gets for something they may not see: the two are indistinguishable."""

    status_code = 404
    default_code = "not_found"
    default_message = "内容不存在"


class Conflict(DomainError):
    """Someone changed the thing first (state machine race, duplicate)."""

    status_code = 409
    default_code = "conflict"
    default_message = "状态已变化，请刷新后重试"


class Gone(DomainError):
    status_code = 410
    default_code = "gone"
    default_message = "内容已删除"


class TooLarge(DomainError):
    status_code = 413
    default_code = "payload_too_large"
    default_message = "内容过大"


class Unprocessable(DomainError):
    status_code = 422
    default_code = "unprocessable"
    default_message = "无法处理该请求"


class TooManyRequests(DomainError):
    """A hard quota is used up (e.g. the daily post cap); unlike a throttle, waiting a minute does not help."""

    status_code = 429
    default_code = "too_many_requests"
    default_message = "操作过于频繁，请稍后再试"


class ServiceUnavailable(DomainError):
    status_code = 503
    default_code = "service_unavailable"
    default_message = "服务暂时不可用，请稍后重试"

    def __init__(self, code: str | None = None, message: str | None = None, *, retry_after: int = 5, **detail: Any):
        super().__init__(code, message, **detail)
        self.retry_after = retry_after


class ExternalServiceError(Exception):
    """An exception from an adapter to an outside service (e.g. wechat.errors) that knows its API answer.

    The adapter subclasses it and says which DomainError a request that hit it answers with;
    core.exceptions asks, so core knows no adapter.
    """

    def as_domain_error(self) -> DomainError:
        raise NotImplementedError


def error_body(code: str, message: str, detail: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "detail": detail or {}}}
