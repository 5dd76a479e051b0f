"""The dashboard rows of the load test: the console's 数据看板 for a street and for the district,
viewed by its officer over a real Django session (the console logs in with sessions, not tokens)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import Resolver404, resolve

from residents.models import Region, User


def session_cookie(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"Cookie: {settings.SESSION_COOKIE_NAME}={session.session_key}"


def scenario(user: User, level: str, region: Region, bearer: Callable[[User], str]) -> dict:
    try:
        resolve("/console/dashboard/")
    except Resolver404:
        return {"available": False, "reason": "the console dashboard has not landed"}
    path = f"/console/dashboard/?region={region.id}"
    return {"available": True, "requests": [["GET", path, session_cookie(user), "", "0"]]}
