"""Bearer-token authentication for the mini-program API."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from core import request_context
from residents import token_cache
from residents.models import ApiToken

# Writing last_used_at on every request would turn every read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            raise exceptions.AuthenticationFailed("登录凭证格式错误", code="token_invalid")
        user, token = authenticate_token(parts[1])
        # The numeric id on every log line written for the rest of this request (core/logs.py).
        request_context.user_id.set(user.pk)
        return user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def authenticate_token(raw: str, *, touch: bool = True):
    """Return (user, token) for a raw token or raise AuthenticationFailed with a token_* code.

    A token checked in the last second (or, with Redis, unchanged since) comes from the
    process's token cache without a database read (residents/token_cache.py).

    `touch=False` skips the last_used_at write, for callers that must not write (WebSocket
    consumers: a reconnect storm must not become a write storm)."""
    key_hash = ApiToken.hash_of(raw)
    cached = token_cache.lookup(key_hash) if key_hash else None
    if cached is not None:
        token = cached[0]
    else:
        version = token_cache.read_version(key_hash) if key_hash else None
        token = ApiToken.find_by_hash(key_hash) if key_hash else None
    now = timezone.now()
    user = _check_token(token, now)
    if cached is None:
        token_cache.remember(key_hash, token, version)
    if touch and (token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        token_cache.touched(key_hash, now)
    return user, token


def reauthenticate_token(token_id: int):
    """(user, token) for a token authenticated earlier, read afresh; raises like `authenticate_token`.

    For long-lived connections (WebSocket) that must notice a logout, a ban or an erasure
    after they authenticated. Never writes."""
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    return _check_token(token, timezone.now()), token


def check_tokens(token_ids: set[int]) -> dict[int, tuple[object | None, str | None]]:
    """`reauthenticate_token` for many tokens in one query: {token id: (user, None)} for a good
    token, {token id: (None, its token_* code)} for one revoked, expired, gone or whose user may
    no longer log in (the WebSocket re-check, notifications/recheck.py). Never writes."""
    tokens = ApiToken.objects.select_related("user").in_bulk(list(token_ids))
    now = timezone.now()
    checked: dict[int, tuple[object | None, str | None]] = {}
    for token_id in token_ids:
        try:
            checked[token_id] = (_check_token(tokens.get(token_id), now), None)
        except exceptions.AuthenticationFailed as exc:
            checked[token_id] = (None, exc.get_codes())
    return checked


def _check_token(token: ApiToken | None, now):
    if token is None or token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("登录凭证无效，请重新登录", code="token_invalid")
    if token.expires_at <= now:
        raise exceptions.AuthenticationFailed("登录已过期，请重新登录", code="token_expired")
    user = token.user
    if not user.is_active or user.is_banned or user.deleted_at is not None:
        raise exceptions.AuthenticationFailed("账号已停用", code="token_invalid")
    return user
