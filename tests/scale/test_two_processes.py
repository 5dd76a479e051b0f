"""Nothing is held in a process: two ASGI servers and two task workers on one PostgreSQL
and one Redis. A login on server A works on server B, and an event caused on A reaches a
WebSocket client connected to B.

Runs only where DATABASE_URL is PostgreSQL and REDIS_URL is set (CI's second pass). The
servers are real production processes (DJANGO_DEBUG=false) pointed at the test database.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import urllib.request

import pytest
from django.conf import settings

from bench.stack import Stack, production_env
from tests.scale.database import ON_POSTGRES_AND_REDIS, shared_database_url

pytestmark = ON_POSTGRES_AND_REDIS


@pytest.fixture(scope="module")
def two_servers(django_db_setup, django_db_blocker):
    """Servers A and B (one uvicorn process each), two db_workers and the WeChat stand-in."""
    database_url = shared_database_url()
    stack = Stack()
    try:
        env = production_env(
            database_url=database_url, redis_url=os.environ["REDIS_URL"], wechat_base="http://127.0.0.1:1/"
        )
        env["DATABASE_CONN_MAX_AGE"] = "0"  # let the test's TRUNCATE between tests through
        # Rows the test writes are encrypted and blind-indexed with the test's keys.
        env["FIELD_ENCRYPTION_KEYS"] = ",".join(settings.FIELD_ENCRYPTION_KEYS)
        env["DJANGO_SECRET_KEY"] = settings.SECRET_KEY
        env["WECHAT_API_BASE"] = stack.start_wechat_standin(env)
        a = stack.start_uvicorn(env, workers=1, name="server-a")
        b = stack.start_uvicorn(env, workers=1, name="server-b")
        stack.start_workers(env, 2)
        stack.check_alive()
        yield {"a": a, "b": b, "standin": env["WECHAT_API_BASE"], "stack": stack}
    finally:
        stack.stop()


def call(base: str, method: str, path: str, *, token: str | None = None, body: dict | None = None, opener=None):
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Browser:
    """Just enough of a browser behind the TLS-terminating proxy: production cookies are
    Secure, so they are kept by hand and the proxy's X-Forwarded-Proto is sent."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, base: str, method: str, path: str, form: dict | None = None):
        origin = base.replace("http://", "https://")
        headers = {"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + path}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            response = opener.open(request, timeout=15)
        except urllib.error.HTTPError as exc:
            response = exc
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status if hasattr(response, "status") else response.code, response.headers, response.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.django_db(transaction=True)
def test_console_login_on_server_a_is_a_session_on_server_b(two_servers):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from residents.models import User

    # The servers run production's hashers (the test settings use MD5); few iterations keep it quick.
    hashed = PBKDF2PasswordHasher().encode("s3cret-pass-for-test", "benchsalt1234567", iterations=1000)
    User.objects.create(username="opsadmin", password=hashed, is_staff=True, is_superuser=True)
    a, b = two_servers["a"], two_servers["b"]
    browser = Browser()
    status, _, page = browser.request(a, "GET", "/admin/login/")
    assert status == 200
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    status, headers, _ = browser.request(
        a,
        "POST",
        "/admin/login/",
        form={
            "csrfmiddlewaretoken": csrf,
            "username": "opsadmin",
            "password": "s3cret-pass-for-test",
            "next": "/admin/",
        },
    )
    assert status == 302 and headers["Location"] == "/admin/", (status, dict(headers))
    assert "sessionid" in browser.cookies
    # The session cookie minted by A, presented to B: B finds the session in the shared database.
    status, _, page = browser.request(b, "GET", "/admin/")
    assert status == 200 and b"opsadmin" in page
    # Without the cookie, B sends the visitor to the login page.
    status, headers, _ = Browser().request(b, "GET", "/admin/")
    assert status == 302 and headers["Location"].startswith("/admin/login/")


@pytest.mark.django_db(transaction=True)
def test_wechat_login_on_server_a_gives_a_token_server_b_accepts(two_servers):
    a, b = two_servers["a"], two_servers["b"]
    status, body = call(a, "POST", "/api/v1/auth/wechat", body={"code": "demo-crossproc-1"})
    assert status in (200, 201), body
    login = json.loads(body)
    status, body = call(b, "GET", "/api/v1/me", token=login["token"])
    assert status == 200, body
    assert json.loads(body)["id"] == login["user"]["id"]
    # Logging out on B revokes the token for A too.
    status, body = call(b, "POST", "/api/v1/auth/logout", token=login["token"], body={})
    assert status == 204, body
    status, _ = call(a, "GET", "/api/v1/me", token=login["token"])
    assert status == 401


@pytest.mark.django_db(transaction=True)
def test_event_caused_on_server_a_reaches_a_websocket_client_on_server_b(two_servers):
    from websockets.sync.client import connect

    from tests import factories as f

    neighborhood = f.NeighborhoodFactory()
    applicant = f.UserFactory()
    membership = f.MembershipFactory(user=applicant, neighborhood=neighborhood, status="pending", is_current=False)
    staff = f.staff(neighborhood)
    applicant_token, staff_token = f.token_for(applicant), f.token_for(staff)
    a, b = two_servers["a"], two_servers["b"]

    ws_url = b.replace("http://", "ws://") + f"/ws/v1/?token={applicant_token}"
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"action": "subscribe", "stream": f"user.{applicant.id}"}))
        ack = json.loads(ws.recv(timeout=10))
        assert ack["type"] == "subscribed", ack
        # The committee approves on server A; the applicant hears it on server B.
        status, body = call(
            a, "POST", f"/api/v1/memberships/{membership.id}/decision", token=staff_token, body={"decision": "approve"}
        )
        assert status in (200, 201), (body, two_servers["stack"].tail("server-a"))
        event = json.loads(ws.recv(timeout=10))
    assert event["stream"] == f"user.{applicant.id}"
    assert event["type"] == "notification.created", event
