"""Sockets end with the session on every server process: a WebSocket held by server B
closes 4401 within 2 s of a logout, a ban by staff or an erasure done on server A, and
drops a neighborhood's stream within 2 s of leaving it there.

Two real uvicorn processes (production settings) on one PostgreSQL and one Redis, as in
tests/scale/test_two_processes.py. Runs only where DATABASE_URL is PostgreSQL and REDIS_URL
is set (CI's second pass).
"""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest

from tests import factories as f
from tests.scale.database import ON_POSTGRES_AND_REDIS, server_env, two_servers
from tests.scale.test_two_processes import Browser, call

pytestmark = ON_POSTGRES_AND_REDIS

DEADLINE_SECONDS = 2.0


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker):
    """Servers A and B, one uvicorn process each; nothing here calls WeChat or queues a task."""
    env = server_env()
    # The periodic re-check is the backstop; these tests prove the push path, so keep it out of reach.
    env["WS_RECHECK_SECONDS"] = "600"
    with two_servers(env) as servers:
        yield servers


@contextlib.contextmanager
def open_socket(base: str, token: str, stream: str):
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + f"/ws/v1/?token={token}", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "subscribe", "stream": stream}))
        ack = json.loads(ws.recv(timeout=10))
        assert ack["type"] == "subscribed", ack
        yield ws


def wait_for_close(ws, started: float) -> tuple[dict, int, float]:
    """(the last frame, the close code, seconds since `started`) once the server closes."""
    from websockets.exceptions import ConnectionClosed

    frame: dict = {}
    try:
        while True:
            remaining = max(0.01, started + DEADLINE_SECONDS + 3 - time.monotonic())
            frame = json.loads(ws.recv(timeout=remaining))
    except ConnectionClosed as closed:
        return frame, closed.rcvd.code if closed.rcvd else None, time.monotonic() - started
    except TimeoutError:
        pytest.fail(f"socket still open {DEADLINE_SECONDS + 3:.0f} s after the revocation; last frame {frame}")


@pytest.mark.django_db(transaction=True)
def test_logout_on_server_a_closes_the_socket_on_server_b(servers):
    neighborhood = f.NeighborhoodFactory()
    user = f.resident(neighborhood)
    token = f.token_for(user)
    with open_socket(servers["b"], token, f"neighborhood.{neighborhood.pk}") as ws:
        started = time.monotonic()
        status, body = call(servers["a"], "POST", "/api/v1/auth/logout", token=token, body={})
        assert status in (200, 204), body
        frame, code, elapsed = wait_for_close(ws, started)
    print(f"logout on A -> 4401 on B after {elapsed * 1000:.0f} ms")
    assert code == 4401 and frame["error"]["code"] == "session_revoked" and frame["error"]["detail"] == {"reason": "logout"}
    assert elapsed < DEADLINE_SECONDS


@pytest.mark.django_db(transaction=True)
def test_ban_by_staff_on_server_a_closes_every_socket_of_the_user_on_server_b(servers):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from residents.models import User

    neighborhood = f.NeighborhoodFactory()
    user = f.resident(neighborhood)
    hashed = PBKDF2PasswordHasher().encode("s3cret-pass-for-test", "benchsalt1234567", iterations=1000)
    User.objects.create(username="banadmin", password=hashed, is_staff=True, is_superuser=True)
    held = contextlib.ExitStack()
    sockets = [held.enter_context(open_socket(servers["b"], f.token_for(user), f"neighborhood.{neighborhood.pk}")) for _ in range(2)]

    a = servers["a"]
    browser = Browser()
    status, _, page = browser.request(a, "GET", "/admin/login/")
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = {"csrfmiddlewaretoken": csrf, "username": "banadmin", "password": "s3cret-pass-for-test", "next": "/admin/"}
    status, _, _ = browser.request(a, "POST", "/admin/login/", form=form)
    assert status == 302
    status, _, page = browser.request(a, "GET", "/admin/residents/user/")
    assert status == 200
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    started = time.monotonic()
    status, _, page = browser.request(
        a,
        "POST",
        "/admin/residents/user/",
        form={"csrfmiddlewaretoken": csrf, "action": "ban_users", "_selected_action": str(user.pk), "index": "0"},
    )
    assert status == 302, page[:500]
    with held:
        for ws in sockets:
            frame, code, elapsed = wait_for_close(ws, started)
            print(f"ban on A -> 4401 on B after {elapsed * 1000:.0f} ms")
            assert code == 4401 and frame["error"]["detail"] == {"reason": "banned"}
            assert elapsed < DEADLINE_SECONDS
    user.refresh_from_db()
    assert user.is_banned


@pytest.mark.django_db(transaction=True)
def test_erasure_on_server_a_closes_the_socket_on_server_b(servers):
    neighborhood = f.NeighborhoodFactory()
    user = f.resident(neighborhood)
    with open_socket(servers["b"], f.token_for(user), f"neighborhood.{neighborhood.pk}") as ws:
        started = time.monotonic()
        status, body = call(servers["a"], "DELETE", "/api/v1/me", token=f.token_for(user))
        assert status == 204, body
        frame, code, elapsed = wait_for_close(ws, started)
    print(f"erasure on A -> 4401 on B after {elapsed * 1000:.0f} ms")
    assert code == 4401 and frame["error"]["detail"] == {"reason": "erased"}
    assert elapsed < DEADLINE_SECONDS


@pytest.mark.django_db(transaction=True)
def test_leaving_on_server_a_drops_the_stream_on_server_b(servers):
    from residents.models import Membership

    neighborhood = f.NeighborhoodFactory()
    user = f.resident(neighborhood)
    token = f.token_for(user)
    stream = f"neighborhood.{neighborhood.pk}"
    membership = Membership.objects.get(user=user, neighborhood=neighborhood)
    with open_socket(servers["b"], token, stream) as ws:
        started = time.monotonic()
        status, body = call(servers["a"], "DELETE", f"/api/v1/memberships/{membership.pk}", token=token)
        assert status == 200, body
        frame = json.loads(ws.recv(timeout=DEADLINE_SECONDS + 3))
        elapsed = time.monotonic() - started
        print(f"leave on A -> subscription_ended on B after {elapsed * 1000:.0f} ms")
        assert frame == {"type": "subscription_ended", "stream": stream, "reason": "membership_ended"}
        assert elapsed < DEADLINE_SECONDS
        # Still open, and re-subscribing is refused.
        ws.send(json.dumps({"action": "subscribe", "stream": stream}))
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == "stream_not_found"
