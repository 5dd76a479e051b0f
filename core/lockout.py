"""Failed-login lockout for the Django admin and the officer console.

After LOGIN_LOCKOUT_ATTEMPTS failures for one (username, client IP) within
LOGIN_LOCKOUT_MINUTES, that pair is refused for LOGIN_LOCKOUT_MINUTES without the
password even being checked, so guessing gets no signal. Counters live in the shared
cache (Redis in production), so every server process sees the same count.

Implemented as the authentication backend, so any login that goes through
`django.contrib.auth.authenticate` (admin, console AuthenticationForm) is covered. The
lockout is raised as a ValidationError: AuthenticationForm turns that into a form error
shown with this message, instead of the generic "wrong password".
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import ValidationError

from core.net import client_ip

logger = logging.getLogger(__name__)


def _keys(username: str, ip: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()[:32]
    return f"lockout:fails:{digest}", f"lockout:locked:{digest}"


def locked_message() -> str:
    return f"登录失败次数过多，该账号已被暂时锁定，请 {settings.LOGIN_LOCKOUT_MINUTES} 分钟后再试"


def is_locked(username: str, ip: str) -> bool:
    _, locked_key = _keys(username, ip)
    try:
        return bool(cache.get(locked_key))
    except Exception:
        # A cache outage must not lock everyone out of the console.
        logger.warning("lockout cache unavailable; not enforcing", exc_info=True)
        return False


def record_failure(username: str, ip: str) -> int:
    fails_key, locked_key = _keys(username, ip)
    window = settings.LOGIN_LOCKOUT_MINUTES * 60
    try:
        if cache.add(fails_key, 1, window):
            count = 1
        else:
            try:
                count = cache.incr(fails_key)
            except ValueError:  # expired between add and incr
                cache.add(fails_key, 1, window)
                count = 1
        if count >= settings.LOGIN_LOCKOUT_ATTEMPTS:
            cache.set(locked_key, 1, window)
            cache.delete(fails_key)
            logger.warning("login locked out after %s failures (ip=%s)", count, ip)
        return count
    except Exception:
        logger.warning("lockout cache unavailable; failure not counted", exc_info=True)
        return 0


def clear_failures(username: str, ip: str) -> None:
    fails_key, _ = _keys(username, ip)
    try:
        cache.delete(fails_key)
    except Exception:
        logger.warning("lockout cache unavailable", exc_info=True)


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        ip = client_ip(request)
        if is_locked(username, ip):
            raise ValidationError(locked_message(), code="login_locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username, ip)
        else:
            clear_failures(username, ip)
        return user
