"""Fixtures for the WeChat adapter: the stand-in (from tests/conftest.py) with short
timeouts, and a tiny HTTP receiver standing where /wechat/callback will be."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

# Short enough that a "slow WeChat" test costs under a second, long enough for a loaded CI box.
TEST_TIMEOUT = (0.5, 0.8)


@pytest.fixture
def standin(wechat_standin, settings):
    """The stand-in, reset, with the adapter pointed at it and quick timeouts."""
    settings.WECHAT_HTTP_TIMEOUT = TEST_TIMEOUT
    wechat_standin.control(
        "POST",
        "push-config",
        {"url": None, "token": "", "aes_key": None, "format": "json", "delay": 0.05},
    )
    return wechat_standin


@dataclass
class ReceivedPush:
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        self.received: queue.Queue[ReceivedPush] = queue.Queue()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/wechat/callback"

    def drain(self) -> None:
        while not self.received.empty():
            self.received.get_nowait()

    def next_push(self, timeout: float = 5.0) -> ReceivedPush:
        return self.received.get(timeout=timeout)


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.put(
            ReceivedPush(
                parts.path,
                dict(parse_qsl(parts.query)),
                self.headers.get("Content-Type", ""),
                body,
            )
        )
        self.send_response(200)
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"success")


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def push_receiver(_receiver_server: _Receiver) -> _Receiver:
    _receiver_server.drain()
    return _receiver_server
