"""WebSocket limits on a real uvicorn process, run as deployed (bench.stack.UVICORN_WS_FLAGS, the
same flags as deploy/systemd/shequtong-web.service and deploy/Procfile):

- a process already checking WS_MAX_PENDING_HANDSHAKES tokens turns a new socket away before the
  upgrade: HTTP 503 with Retry-After and the one error body — no upgrade, no frame, no close handshake
  (notifications/consumers.py; in-process, tests/notifications/test_socket_admission.py);
- a client message over 64 KiB closes that socket with 1009 (message too big) before the consumer
  parses it; the process and its other sockets go on.

The processes run only where DATABASE_URL is PostgreSQL and REDIS_URL is set (CI's second pass).
"""

from __future__ import annotations

import json

import pytest

from tests import factories as f
from tests.scale.database import ON_POSTGRES_AND_REDIS, ephemeral_port, server_env

pytestmark = ON_POSTGRES_AND_REDIS


def test_the_deploy_files_run_uvicorn_with_the_tested_websocket_flags():
    from bench.stack import ROOT, UVICORN_WS_FLAGS

    flags = " ".join(UVICORN_WS_FLAGS)
    for path in ("deploy/systemd/shequtong-web.service", "deploy/Procfile"):
        assert flags in (ROOT / path).read_text(), path


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


@pytest.mark.django_db(transaction=True)
def test_an_oversized_client_message_closes_its_socket_with_1009():
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from bench.stack import Stack

    neighborhood = f.NeighborhoodFactory()
    stream = f"neighborhood.{neighborhood.pk}"
    tokens = [f.token_for(f.resident(neighborhood)) for _ in range(2)]
    stack = Stack()
    try:
        base = stack.start_uvicorn(server_env(), workers=1, name="limits", port=ephemeral_port())
        url = base.replace("http://", "ws://") + "/ws/v1/?token="
        with connect(url + tokens[0], open_timeout=10) as other, connect(url + tokens[1], open_timeout=10) as big:
            other.send(json.dumps({"action": "subscribe", "stream": stream}))
            assert json.loads(other.recv(timeout=10))["type"] == "subscribed"
            big.send(json.dumps({"action": "subscribe", "stream": stream, "pad": "x" * 70_000}))
            with pytest.raises(ConnectionClosed) as closed:
                big.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            # The other socket is untouched: it still answers.
            other.send(json.dumps({"action": "unsubscribe", "stream": stream}))
            assert json.loads(other.recv(timeout=10)) == {"type": "unsubscribed", "stream": stream}
        stack.check_alive()
    finally:
        stack.stop()
