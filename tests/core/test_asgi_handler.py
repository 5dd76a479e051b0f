"""The ASGI entry (config/asgi.py, core/asgi.py): the whole middleware chain and the view run in
one thread per request, and a request through it gets everything the chain adds."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from tests import factories as f


def _get(path: str, headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, dict[bytes, bytes], bytes]:
    from config.asgi import application

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }

    async def run():
        comm = ApplicationCommunicator(application, scope)
        await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await comm.receive_output(10)
        body = b""
        while True:
            message = await comm.receive_output(10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        return start["status"], {k.lower(): v for k, v in start["headers"]}, body

    return async_to_sync(run)()


def test_the_handler_runs_the_chain_in_sync_mode():
    from config.asgi import django_asgi_app
    from core.asgi import OneHopASGIHandler

    assert isinstance(django_asgi_app, OneHopASGIHandler)
    # One coroutine wrapping the sync chain: what makes a request one hand-off from the loop.
    assert type(django_asgi_app._middleware_chain).__name__ == "SyncToAsync"


@pytest.mark.django_db(transaction=True)
def test_a_bearer_request_through_the_asgi_entry_gets_the_view_and_every_middleware(neighborhood):
    resident = f.resident(neighborhood)
    status, headers, body = _get("/api/v1/me", [(b"authorization", f"Bearer {f.token_for(resident)}".encode())])
    assert status == 200, body
    assert json.loads(body)["id"] == resident.pk
    assert headers[b"cache-control"] == b"no-store" and headers[b"x-request-id"] and headers[b"x-frame-options"] == b"DENY"
    status, _headers, body = _get("/api/v1/no-such-thing")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
