"""Exceptions raised by the WeChat adapter.

Each one carries the API answer a request that hit it gets (`as_domain_error`): core's
exception handler asks for it (core.errors.ExternalServiceError), so core imports no part
of this app. Messages carry WeChat's errcode/errmsg only, never a session_key or secret.
"""

from __future__ import annotations

from core.errors import DomainError, ExternalServiceError, NotAuthenticated, ServiceUnavailable


class WeChatError(ExternalServiceError):
    """Any failure talking to WeChat. `errcode` is WeChat's code (None for transport errors)."""

    def __init__(self, errcode: int | None, errmsg: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat error {errcode}: {errmsg}")

    def as_domain_error(self) -> DomainError:
        return ServiceUnavailable("wechat_error", "微信服务返回错误，请稍后重试", retry_after=30)


class WeChatCodeInvalid(WeChatError):
    """A login or phone code is unknown, expired (40029) or already used (40163)."""

    def as_domain_error(self) -> DomainError:
        return NotAuthenticated("wechat_code_invalid", "微信授权码无效或已使用，请重新授权")


class WeChatUnavailable(WeChatError):
    """WeChat is busy, rate limited, unreachable or answered garbage; try again later.

    `retry_after` is a suggested wait in seconds.
    """

    def __init__(
        self, errcode: int | None, errmsg: str = "", *, retry_after: int = 5
    ) -> None:
        super().__init__(errcode, errmsg)
        self.retry_after = retry_after

    def as_domain_error(self) -> DomainError:
        return ServiceUnavailable("wechat_unavailable", "微信服务繁忙，请稍后重试", retry_after=self.retry_after)


class WeChatOutcomeUnknown(WeChatUnavailable):
    """The request left and no usable answer came back (read timeout, connection dropped, an
    HTTP error page, garbage): WeChat may or may not have carried it out.

    A WeChatUnavailable, so callers of idempotent calls need not care; a caller whose call has
    an effect WeChat cannot deduplicate (subscribeMessage.send) must not send again.
    """


class WeChatQuotaExceeded(WeChatError):
    """The daily quota of this API is spent (45009); retrying today will not help."""

    def as_domain_error(self) -> DomainError:
        return ServiceUnavailable("wechat_quota_exceeded", "微信接口今日调用已达上限", retry_after=3600)


class WeChatNoConsent(WeChatError):
    """The user has no unused subscribe-message consent for the template (43101). Do not retry."""


class WeChatBadRequest(WeChatError):
    """WeChat rejected the request (bad openid, template, scene, page, data, ...)."""


class WeChatMisconfigured(WeChatError):
    """Our credentials or setup are wrong (bad appid/secret, IP not whitelisted, ...)."""
