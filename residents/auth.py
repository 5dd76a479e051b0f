"""Bearer-token authentication for the mini-program API."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from core import request_context
from residents import token_cache
from residents.models import ApiToken, User

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


# What a re-check reads: the token's and its user's columns the rule (`_check`) decides on.
_CHECKED_COLUMNS = ("id", "revoked_at", "expires_at", "user_id", "user__is_active", "user__is_banned", "user__deleted_at")
_CHECKED_USER_FIELDS = ["id", "is_active", "is_banned", "deleted_at"]


def reauthenticate_token(token_id: int) -> User:
    """The user of a token authenticated earlier, read afresh; raises like `authenticate_token`.

    For long-lived connections (WebSocket) that must notice a logout, a ban or an erasure
    after they authenticated. Never writes. Reads only the columns the check decides on: the
    user comes back holding its id and those flags (its other fields load if read) — whole
    token and user objects, each user's phone decrypted, had been most of a re-check's time
    (bench/README.md "Session 12")."""
    rows = ApiToken.objects.filter(pk=token_id).values_list(*_CHECKED_COLUMNS)
    return _user_of(next(iter(rows), None), rows.db, timezone.now())


def check_tokens(token_ids: set[int]) -> dict[int, tuple[User | None, str | None]]:
    """`reauthenticate_token` for many tokens in one query: {token id: (user, None)} for a good
    token, {token id: (None, its token_* code)} for one revoked, expired, gone or whose user may
    no longer log in (the WebSocket re-check, notifications/recheck.py). Never writes."""
    rows = ApiToken.objects.filter(pk__any=list(token_ids)).values_list(*_CHECKED_COLUMNS)
    found = {row[0]: row for row in rows}
    now = timezone.now()
    checked: dict[int, tuple[User | None, str | None]] = {}
    for token_id in token_ids:
        try:
            checked[token_id] = (_user_of(found.get(token_id), rows.db, now), None)
        except exceptions.AuthenticationFailed as exc:
            checked[token_id] = (None, exc.get_codes())
    return checked


def _user_of(row: tuple | None, db: str, now) -> User:
    """The user of a `_CHECKED_COLUMNS` row whose token may be used now; raises if it may not."""
    if row is None:
        raise exceptions.AuthenticationFailed("登录凭证无效，请重新登录", code="token_invalid")
    _check(*row[1:3], *row[4:], now)
    return User.from_db(db, _CHECKED_USER_FIELDS, row[3:])


def _check_token(token: ApiToken | None, now) -> User:
    if token is None:
        raise exceptions.AuthenticationFailed("登录凭证无效，请重新登录", code="token_invalid")
    user = token.user
    _check(token.revoked_at, token.expires_at, user.is_active, user.is_banned, user.deleted_at, now)
    return user


def _check(revoked_at, expires_at, is_active: bool, is_banned: bool, deleted_at, now) -> None:
    """Raise AuthenticationFailed (a token_* code) unless the token may be used now: the one rule
    for a request, a socket and the re-check."""
    if revoked_at is not None:
        raise exceptions.AuthenticationFailed("登录凭证无效，请重新登录", code="token_invalid")
    if expires_at <= now:
        raise exceptions.AuthenticationFailed("登录已过期，请重新登录", code="token_expired")
    if not is_active or is_banned or deleted_at is not None:
        raise exceptions.AuthenticationFailed("账号已停用", code="token_invalid")
