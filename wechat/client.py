"""The WeChat mini-program API adapter — the functions other apps call.

Built on wechatpy's `WeChatClient` for HTTP plumbing only (see docs/wechat.md): the
token comes from the stable-token endpoint and lives in Django's cache so every
process shares one; token errors are retried a bounded number of times; every
other WeChat failure becomes one of the exceptions in `wechat.errors`.

Settings read at call time: WECHAT_APPID, WECHAT_SECRET, WECHAT_API_BASE
(default https://api.weixin.qq.com/), WECHAT_TIMEOUT_SECONDS (budget for one HTTP
call, default 3: one third to connect, the rest to read, so "WeChat down" fails
well within 5 s), or WECHAT_HTTP_TIMEOUT = (connect, read) to set both exactly.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache as default_cache
from urllib3.exceptions import ConnectTimeoutError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from wechat import token_health
from wechat.errors import (
    WeChatBadRequest,
    WeChatCodeInvalid,
    WeChatError,
    WeChatMisconfigured,
    WeChatNoConsent,
    WeChatOutcomeUnknown,
    WeChatQuotaExceeded,
    WeChatUnavailable,
)

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com/"
DEFAULT_TIMEOUT = (1.0, 2.0)
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# One plain refetch and one forced refresh: enough to get past a token rotated
# by another process, small enough that a server stuck on 40001 ends quickly.
MAX_TOKEN_RETRIES = 2
# Store the token a little shorter than WeChat keeps it, so no process uses one
# that dies mid-request.
TOKEN_SAFETY_MARGIN = 300

CODE_ERRORS = frozenset({40029, 40163})
MISCONFIGURED_ERRORS = frozenset(
    {40002, 40013, 40125, 40164, 41001, 41002, 41004, 61024}
)


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


def _mask_phone(number: str) -> str:
    return number[:3] + "****" + number[-4:] if len(number) >= 7 else "****"


@dataclass(frozen=True)
class PhoneInfo:
    phone_number: str = field(repr=False)
    pure_phone_number: str = field(repr=False)
    country_code: str

    def __repr__(self) -> str:
        return f"PhoneInfo(pure_phone_number={_mask_phone(self.pure_phone_number)!r}, country_code={self.country_code!r})"


@dataclass(frozen=True)
class ContentVerdict:
    suggest: str  # "pass" | "review" | "risky"
    label: int
    trace_id: str

    @property
    def is_pass(self) -> bool:
        return self.suggest == "pass"


# The process's copy of what DjangoCacheStorage wrote, shared by the per-thread clients:
# key → (value, monotonic expiry or None).
_process_copy_lock = threading.Lock()
_process_copy: dict[str, tuple[Any, float | None]] = {}


class DjangoCacheStorage(SessionStorage):
    """wechatpy session storage on Django's cache, honouring the TTL.

    The cache (Redis in production) is where processes share the token; every value is also
    kept in this process, and read from there while the cache is unreachable. A process that
    has no copy fetches one: `stable_token` without force_refresh hands every caller the same
    token while it is valid, so processes that fetch on their own during an outage still agree.
    """

    def __init__(self, cache: Any = None, prefix: str = "wechat") -> None:
        self.cache = cache if cache is not None else default_cache
        self.prefix = prefix

    def key_name(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def get(self, key: str, default: Any = None) -> Any:
        name = self.key_name(key)
        try:
            return self.cache.get(name, default)
        except Exception as exc:
            logger.warning("wechat: token cache unreachable (%s), using this process's copy", exc)
        with _process_copy_lock:
            value, expires = _process_copy.get(name, (None, None))
            if value is None or (expires is not None and expires <= time.monotonic()):
                return default
            return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        name = self.key_name(key)
        with _process_copy_lock:
            _process_copy[name] = (value, time.monotonic() + ttl if ttl else None)
        try:
            self.cache.set(name, value, timeout=ttl)
        except Exception as exc:
            logger.warning("wechat: token cache unreachable (%s), token kept in this process only", exc)

    def delete(self, key: str) -> None:
        name = self.key_name(key)
        with _process_copy_lock:
            _process_copy.pop(name, None)
        try:
            self.cache.delete(name)
        except Exception as exc:
            logger.warning("wechat: token cache unreachable (%s), token not dropped there", exc)


def _request_never_left(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached WeChat: refused, DNS, connect timeout, bad URL.

    Everything else (read timeout, a connection dropped mid-answer, a TLS or proxy failure)
    may have happened after WeChat received the request.
    """
    if isinstance(exc, (requests.ConnectTimeout, requests.URLRequired, requests.exceptions.InvalidURL)):
        return True
    if isinstance(exc, requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema):
        return True
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.exceptions.ProxyError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        # urllib3: NewConnectionError (refused) and NameResolutionError (DNS) are ConnectTimeoutErrors.
        return isinstance(reason, ConnectTimeoutError)
    return False


def _transport_error(exc: requests.RequestException | ValueError, *, request_sent: bool = False) -> WeChatUnavailable:
    """`request_sent`: the failed call was the API request itself (not a token fetch before it)."""
    kind = type(exc).__name__
    if request_sent and not (isinstance(exc, requests.RequestException) and _request_never_left(exc)):
        return WeChatOutcomeUnknown(None, f"no answer from WeChat after sending ({kind})", retry_after=10)
    return WeChatUnavailable(None, f"WeChat unreachable ({kind})", retry_after=10)


class StableTokenClient(WeChatClient):
    """A WeChatClient whose token comes from `cgi-bin/stable_token` and lives in a shared cache."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        cache: Any = None,
    ) -> None:
        super().__init__(
            appid,
            secret,
            session=DjangoCacheStorage(cache),
            timeout=timeout,
            auto_retry=False,
        )
        base = api_base if api_base.endswith("/") else api_base + "/"
        self.API_BASE_URL = base
        self.wxa.API_BASE_URL = base

    def __repr__(self) -> str:
        return (
            f"StableTokenClient(appid={self.appid!r}, api_base={self.API_BASE_URL!r})"
        )

    @property
    def access_token_key(self) -> str:
        return f"{self.appid}:access_token"

    @property
    def access_token(self) -> str:
        # `self.session` first: wechatpy's __new__ inspects every attribute before
        # __init__ runs, and this must raise AttributeError then, not fetch a token.
        storage = self.session
        token = storage.get(self.access_token_key)
        if token:
            return str(token)
        self.fetch_access_token()
        return str(storage.get(self.access_token_key))

    def fetch_access_token(self, force_refresh: bool = False) -> dict[str, Any]:  # type: ignore[override]
        try:
            result = self._fetch_stable_token(force_refresh)
        except WeChatError:
            token_health.record_failed()
            raise
        token_health.record_fetched(int(result.get("expires_in", 7200)))
        return result

    def _fetch_stable_token(self, force_refresh: bool) -> dict[str, Any]:
        try:
            response = self._http.post(
                self.API_BASE_URL + "cgi-bin/stable_token",
                json={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                    "force_refresh": force_refresh,
                },
                timeout=self.timeout,
            )
            response.raise_for_status()
            result = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise _transport_error(exc) from exc
        if not isinstance(result, dict):
            raise WeChatUnavailable(None, "stable_token answered non-object JSON")
        errcode = int(result.get("errcode", 0) or 0)
        if errcode:
            raise _map_error(errcode, str(result.get("errmsg", "")))
        token = result.get("access_token")
        if not token:
            raise WeChatUnavailable(None, "stable_token answered without access_token")
        expires_in = int(result.get("expires_in", 7200))
        ttl = max(expires_in - TOKEN_SAFETY_MARGIN, min(expires_in, 60))
        self.session.set(self.access_token_key, token, ttl)
        logger.info(
            "wechat: fetched access token (force_refresh=%s, expires_in=%s)",
            force_refresh,
            expires_in,
        )
        return result

    def refresh_after_rejection(self, rejected_token: str | None) -> None:
        """A call said our token is bad: take the current stable token, force a new one if it is the same."""
        self.session.delete(self.access_token_key)
        result = self.fetch_access_token(force_refresh=False)
        if result.get("access_token") == rejected_token:
            self.fetch_access_token(force_refresh=True)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        with_token: bool = True,
        raw: bool = False,
    ) -> Any:
        """One API call with bounded token retry. Returns the JSON dict, or bytes when `raw`
        and WeChat answered with something other than JSON."""
        token_retries = 0
        while True:
            query = dict(params or {})
            token = self.access_token if with_token else None
            query["access_token"] = token  # None: wechatpy leaves it out
            try:
                kwargs: dict[str, Any] = {"params": query}
                if data is not None:
                    kwargs["data"] = data
                result = self._request(method, path, **kwargs)
            except WeChatClientException as exc:
                errcode = None if exc.errcode is None else int(exc.errcode)
                if errcode is None:
                    # An HTTP error page: WeChat's front may have passed the request on before failing.
                    raise WeChatOutcomeUnknown(
                        None, "WeChat answered with an HTTP error", retry_after=10
                    ) from exc
                if (
                    with_token
                    and errcode in TOKEN_ERRORS
                    and token_retries < MAX_TOKEN_RETRIES
                ):
                    token_retries += 1
                    logger.info(
                        "wechat: %s rejected the token (%s), refreshing (%d)",
                        path,
                        errcode,
                        token_retries,
                    )
                    self.refresh_after_rejection(token)
                    continue
                raise _map_error(errcode, str(exc.errmsg or "")) from exc
            except requests.RequestException as exc:
                logger.warning("wechat: %s failed: %s", path, type(exc).__name__)
                raise _transport_error(exc, request_sent=True) from exc
            if isinstance(result, dict):
                return result
            if raw and isinstance(result, requests.Response) and result.content:
                content_type = result.headers.get("Content-Type", "")
                if content_type.startswith("image/"):
                    return result.content
            raise WeChatOutcomeUnknown(
                None, f"WeChat answered {path} with malformed data", retry_after=5
            )


def _map_error(errcode: int, errmsg: str) -> WeChatError:
    if errcode in CODE_ERRORS:
        return WeChatCodeInvalid(errcode, errmsg)
    if errcode == -1:
        return WeChatUnavailable(errcode, errmsg, retry_after=2)
    if errcode == 45011:
        return WeChatUnavailable(errcode, errmsg, retry_after=60)
    if errcode in TOKEN_ERRORS:
        # Still rejected after refreshing: most likely another process rotating the
        # token in a loop; a later attempt may well succeed.
        return WeChatUnavailable(errcode, errmsg, retry_after=30)
    if errcode == 45009:
        return WeChatQuotaExceeded(errcode, errmsg)
    if errcode == 43101:
        return WeChatNoConsent(errcode, errmsg)
    if errcode in MISCONFIGURED_ERRORS:
        return WeChatMisconfigured(errcode, errmsg)
    return WeChatBadRequest(errcode, errmsg)


_local = threading.local()


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default) or default


def _timeout() -> tuple[float, float]:
    explicit = getattr(settings, "WECHAT_HTTP_TIMEOUT", None)
    if explicit:
        connect, read = explicit
        return float(connect), float(read)
    total = getattr(settings, "WECHAT_TIMEOUT_SECONDS", None)
    if not total:
        return DEFAULT_TIMEOUT
    return float(total) / 3, float(total) * 2 / 3


def get_client() -> StableTokenClient:
    """The client for the current settings; one per thread (requests sessions are not thread-safe)."""
    timeout = _timeout()
    config = (
        settings.WECHAT_APPID,
        settings.WECHAT_SECRET,
        _setting("WECHAT_API_BASE", DEFAULT_API_BASE),
        timeout,
    )
    client: StableTokenClient | None = getattr(_local, "client", None)
    if client is None or getattr(_local, "config", None) != config:
        appid, secret, api_base, client_timeout = config
        client = StableTokenClient(
            appid, secret, api_base=api_base, timeout=client_timeout
        )
        _local.client, _local.config = client, config
    return client


def code_to_session(code: str) -> WeChatSession:
    """Exchange a `wx.login()` code for the user's openid (auth.code2Session). No access token is sent."""
    client = get_client()
    result = client.call(
        "get",
        "sns/jscode2session",
        params={
            "appid": client.appid,
            "secret": client.secret,
            "js_code": code,
            "grant_type": "authorization_code",
        },
        with_token=False,
    )
    openid = result.get("openid")
    session_key = result.get("session_key")
    if not openid or not session_key:
        raise WeChatUnavailable(
            None, "jscode2session answered without openid/session_key"
        )
    return WeChatSession(
        openid=openid, unionid=result.get("unionid") or None, session_key=session_key
    )


def get_phone_number(code: str) -> PhoneInfo:
    """Exchange a getPhoneNumber-button code for the user's phone number."""
    result = get_client().call(
        "post", "wxa/business/getuserphonenumber", data={"code": code}
    )
    info = result.get("phone_info")
    if not isinstance(info, dict) or not info.get("purePhoneNumber"):
        raise WeChatUnavailable(None, "getuserphonenumber answered without phone_info")
    return PhoneInfo(
        phone_number=str(info.get("phoneNumber") or info["purePhoneNumber"]),
        pure_phone_number=str(info["purePhoneNumber"]),
        country_code=str(info.get("countryCode") or "86"),
    )


def send_subscribe_message(
    *,
    openid: str,
    template_id: str,
    data: dict[str, Any],
    page: str | None = None,
    miniprogram_state: str | None = None,
) -> str:
    """Send one subscribe message; returns WeChat's msgid.

    `data` maps keys to plain values or to `{"value": ...}`. Raises WeChatNoConsent
    on 43101 (spend the local consent count, do not retry), and WeChatOutcomeUnknown when
    the request left without a usable answer: WeChat has no idempotency key for this call,
    so the message may have been delivered and must not be sent again.
    """
    payload: dict[str, Any] = {
        "touser": openid,
        "template_id": template_id,
        "data": {
            key: value if isinstance(value, dict) else {"value": str(value)}
            for key, value in data.items()
        },
    }
    if page is not None:
        payload["page"] = page
    if miniprogram_state is not None:
        payload["miniprogram_state"] = miniprogram_state
    result = get_client().call("post", "cgi-bin/message/subscribe/send", data=payload)
    return str(result.get("msgid", ""))


def check_text(
    *,
    openid: str,
    content: str,
    scene: int,
    title: str | None = None,
    nickname: str | None = None,
) -> ContentVerdict:
    """msgSecCheck v2. errcode is 0 even for risky text: decide on `suggest`."""
    payload: dict[str, Any] = {
        "version": 2,
        "openid": openid,
        "scene": scene,
        "content": content,
    }
    if title is not None:
        payload["title"] = title
    if nickname is not None:
        payload["nickname"] = nickname
    result = get_client().call("post", "wxa/msg_sec_check", data=payload)
    verdict = result.get("result")
    if not isinstance(verdict, dict) or verdict.get("suggest") not in (
        "pass",
        "review",
        "risky",
    ):
        raise WeChatUnavailable(None, "msg_sec_check answered without a verdict")
    return ContentVerdict(
        suggest=verdict["suggest"],
        label=int(verdict.get("label", 0)),
        trace_id=str(result.get("trace_id", "")),
    )


def check_media_async(
    *, openid: str, media_url: str, media_type: int = 2, scene: int = 3
) -> str:
    """mediaCheckAsync v2; returns the trace_id. The verdict arrives later as a `wxa_media_check` push."""
    result = get_client().call(
        "post",
        "wxa/media_check_async",
        data={
            "media_url": media_url,
            "media_type": media_type,
            "version": 2,
            "openid": openid,
            "scene": scene,
        },
    )
    trace_id = result.get("trace_id")
    if not trace_id:
        raise WeChatUnavailable(None, "media_check_async answered without trace_id")
    return str(trace_id)


def get_unlimited_qrcode(
    *,
    scene: str,
    page: str | None = None,
    check_path: bool = False,
    env_version: str = "release",
    width: int = 430,
) -> bytes:
    """getwxacodeunlimit: the image bytes of a mini-program code carrying `scene` (≤ 32 chars)."""
    payload: dict[str, Any] = {
        "scene": scene,
        "check_path": check_path,
        "env_version": env_version,
        "width": width,
    }
    if page is not None:
        payload["page"] = page
    result = get_client().call("post", "wxa/getwxacodeunlimit", data=payload, raw=True)
    if isinstance(result, bytes):
        return result
    # A JSON answer with errcode 0 and no image is not something WeChat should send.
    raise WeChatUnavailable(None, "getwxacodeunlimit answered JSON instead of an image")
