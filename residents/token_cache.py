"""A per-process cache of bearer tokens and their users, with a revocation signal.

Every API request authenticates its bearer token; reading the token and its user from the
database is one statement plus building two ORM objects, which on the bench's constant
endpoint was most of a request's cost (bench/README.md, issue 20). A process keeps what it
read, keyed by the token's hash, and trusts it for `API_TOKEN_CACHE_SECONDS` (default 1 s)
without any I/O. After that:

- with Redis (`REDIS_URL`), it reads the token's version key (`auth:v:<token hash>`, read
  *before* the database on a miss, so a change committed in between is caught at the next
  check): unchanged means nothing about the token or its user changed, and the entry is
  trusted for another window — up to `MAX_AGE_SECONDS`, then the database is read anyway;
- without Redis (the embedded default), or with Redis unreachable, it reads the database.

Whatever changes a token or a user — logout, ban, erasure, any save or delete of a user or a
token — calls `forget(user_id)`: the process drops that user's entries at once, and once the
transaction commits drops them again and writes a new version key for each of the user's
unexpired tokens (a user holds a few), so every other process
refuses a revoked token at its next request after at most one window (a second by default).
A row changed behind the application's back (a manual UPDATE) is seen after `MAX_AGE_SECONDS`
with Redis, after one window without.

Each request gets fresh model instances built from the cached values (no instance is shared
between requests or threads). The expiry is checked on every request, as before.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

MAX_ENTRIES = 20_000  # tokens kept per process; the oldest go first
MAX_AGE_SECONDS = 300.0  # with Redis: the database is read again at least this often
VERSION_TTL_SECONDS = 24 * 3600  # longer than MAX_AGE_SECONDS, so a bumped version outlives every entry


@dataclass
class Entry:
    user_id: int
    token_values: tuple
    user_values: tuple
    version: str | None  # the token's version key when the database was read (Redis only)
    read_at: float  # monotonic: when the database was read
    checked_at: float  # monotonic: when it was last known current


_entries: dict[str, Entry] = {}
_UNREACHABLE = "-"  # the version read while Redis was down: never trusted past the first window
_lock = threading.Lock()


def window_seconds() -> float:
    return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 1.0))


def _shared() -> bool:
    # Only a shared cache can carry the signal between processes; the in-process fallback cannot.
    return bool(getattr(settings, "REDIS_URL", ""))


def _version_key(key_hash: str) -> str:
    return f"auth:v:{key_hash[:32]}"


def read_version(key_hash: str) -> str | None:
    """The token's version key, read before the database on a miss (so a change committed in
    between is caught by the next check); None when there is none, or without Redis, or with
    Redis down (the entry is then checked against the database, see `lookup`)."""
    if not _shared() or window_seconds() <= 0:
        return None
    try:
        return cache.get(_version_key(key_hash))
    except Exception:
        return _UNREACHABLE


def lookup(key_hash: str):
    """(token, user) fresh instances from a current entry, or None: the caller reads the database."""
    window = window_seconds()
    entry = _entries.get(key_hash)
    if entry is None or window <= 0:
        return None
    now = time.monotonic()
    if now - entry.checked_at > window:
        if not _shared() or now - entry.read_at > MAX_AGE_SECONDS:
            return None
        try:
            current = cache.get(_version_key(key_hash))
        except Exception as exc:  # Redis down: the database decides, as without Redis
            logger.warning("token cache: version key unreachable (%s); reading the database", exc)
            return None
        if current != entry.version:
            _entries.pop(key_hash, None)
            return None
        entry.checked_at = now
    return _build(entry)


def remember(key_hash: str, token, version: str | None) -> None:
    """Keep a token read from the database (with its user) for the next requests."""
    if window_seconds() <= 0:
        return
    now = time.monotonic()
    entry = Entry(
        user_id=token.user_id,
        token_values=_values(token),
        user_values=_values(token.user),
        version=version,
        read_at=now,
        checked_at=now,
    )
    with _lock:
        while len(_entries) >= MAX_ENTRIES:
            _entries.pop(next(iter(_entries)), None)
        _entries[key_hash] = entry


def touched(key_hash: str, last_used_at) -> None:
    """The token's last_used_at was written: keep the entry's copy in step (no second write)."""
    entry = _entries.get(key_hash)
    if entry is not None:
        from residents.models import ApiToken

        names = [f.attname for f in ApiToken._meta.concrete_fields]
        values = list(entry.token_values)
        values[names.index("last_used_at")] = last_used_at
        entry.token_values = tuple(values)


def forget(user_id: int) -> None:
    """A token or the user changed: drop the user's entries in this process now, and once the
    transaction commits drop them again and tell every other process (new version keys)."""
    _drop(user_id)
    hashes: list[str] = []
    if _shared():
        from django.utils import timezone

        from residents.models import ApiToken

        hashes = list(
            ApiToken.objects.filter(user_id=user_id, expires_at__gt=timezone.now()).values_list("key_hash", flat=True)
        )
    transaction.on_commit(lambda: _signal(user_id, hashes))


def clear() -> None:
    with _lock:
        _entries.clear()


def _signal(user_id: int, hashes: list[str]) -> None:
    _drop(user_id)
    if not hashes:
        return
    version = uuid.uuid4().hex
    try:
        cache.set_many({_version_key(h): version for h in hashes}, VERSION_TTL_SECONDS)
    except Exception as exc:
        # Other processes then notice within MAX_AGE_SECONDS (docs/deployment.md, "When Redis is down").
        logger.warning("token cache: could not signal a change of user %s (%s)", user_id, exc)


def _drop(user_id: int) -> None:
    with _lock:
        for key in [k for k, e in _entries.items() if e.user_id == user_id]:
            _entries.pop(key, None)


def _values(instance) -> tuple:
    return tuple(getattr(instance, f.attname) for f in instance._meta.concrete_fields)


def _build(entry: Entry):
    from residents.models import ApiToken, User

    # from_db with every concrete field's value: the constructor's positional path, no conversion.
    user = User.from_db("default", None, entry.user_values)
    token = ApiToken.from_db("default", None, entry.token_values)
    token.user = user
    return token, user
