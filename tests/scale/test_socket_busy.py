"""A server process that is already checking WS_MAX_PENDING_HANDSHAKES tokens turns a new
WebSocket away before the upgrade: on a real uvicorn process (as deployed), the client receives
HTTP 503 with Retry-After and the one error body — no upgrade, no frame, no close handshake
(notifications/consumers.py; in-process, tests/notifications/test_socket_admission.py).

Runs only where DATABASE_URL is PostgreSQL and REDIS_URL is set (CI's second pass).
"""

from __future__ import annotations

import json

import pytest

from tests import factories as f
from tests.scale.database import ON_POSTGRES_AND_REDIS, ephemeral_port, server_env

pytestmark = ON_POSTGRES_AND_REDIS


@pytest.mark.django_db(transaction=True)
def test_a_busy_uvicorn_process_answers_503_before_the_upgrade():
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from bench.stack import Stack

    neighborhood = f.NeighborhoodFactory()
    token = f.token_for(f.resident(neighborhood))
    env = server_env()
    env["WS_MAX_PENDING_HANDSHAKES"] = "0"  # every handshake finds the process full
    stack = Stack()
    try:
        base = stack.start_uvicorn(env, workers=1, name="busy", port=ephemeral_port())
        with pytest.raises(InvalidStatus) as refused:
            connect(base.replace("http://", "ws://") + f"/ws/v1/?token={token}", open_timeout=10)
        response = refused.value.response
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert response.headers["Content-Type"] == "application/json"
        error = json.loads(response.body)["error"]
        assert error["code"] == "server_busy" and error["message"] == "连接的人太多，请稍后自动重试"
        stack.check_alive()  # the process answered and is still up
    finally:
        stack.stop()
