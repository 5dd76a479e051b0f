"""Exceptions raised by the WeChat adapter.

Plain Python exceptions: the project's core layer maps them to HTTP answers.
Messages carry WeChat's errcode/errmsg only, never a session_key or secret.
"""

from __future__ import annotations


class WeChatError(Exception):
    """Any failure talking to WeChat. `errcode` is WeChat's code (None for transport errors)."""

    def __init__(self, errcode: int | None, errmsg: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat error {errcode}: {errmsg}")


class WeChatCodeInvalid(WeChatError):
    """A login or phone code is unknown, expired (40029) or already used (40163)."""


class WeChatUnavailable(WeChatError):
    """WeChat is busy, rate limited, unreachable or answered garbage; try again later.

    `retry_after` is a suggested wait in seconds.
    """

    def __init__(
        self, errcode: int | None, errmsg: str = "", *, retry_after: int = 5
    ) -> None:
        super().__init__(errcode, errmsg)
        self.retry_after = retry_after


class WeChatOutcomeUnknown(WeChatUnavailable):
    """The request left and no usable answer came back (read timeout, connection dropped, an
    HTTP error page, garbage): WeChat may or may not have carried it out.

    A WeChatUnavailable, so callers of idempotent calls need not care; a caller whose call has
    an effect WeChat cannot deduplicate (subscribeMessage.send) must not send again.
    """


class WeChatQuotaExceeded(WeChatError):
    """The daily quota of this API is spent (45009); retrying today will not help."""


class WeChatNoConsent(WeChatError):
    """The user has no unused subscribe-message consent for the template (43101). Do not retry."""


class WeChatBadRequest(WeChatError):
    """WeChat rejected the request (bad openid, template, scene, page, data, ...)."""


class WeChatMisconfigured(WeChatError):
    """Our credentials or setup are wrong (bad appid/secret, IP not whitelisted, ...)."""
