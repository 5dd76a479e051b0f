"""SENTRY_DSN on: an unhandled error reaches a Sentry-compatible server, without the request's
personal values (core/errortracking.py). Run in a child process: sentry-sdk patches Django globally."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.urls import path


def boom(request: HttpRequest):
    raise RuntimeError("boom for the error-report test")


urlpatterns = [path("boom", boom)]

# Built, not written out: the report carries the source lines around `boom`, which is fine.
PHONE = "139" + "12345678"
NAME = "李" + "秀英"

CHILD = f"""
import django
django.setup()
import sentry_sdk
from django.test import Client, override_settings

with override_settings(ROOT_URLCONF="tests.core.test_error_reports", DEBUG_PROPAGATE_EXCEPTIONS=False):
    response = Client(raise_request_exception=False).post(
        "/boom?phone={PHONE}", data='{{"phone": "{PHONE}", "name": "{NAME}"}}', content_type="application/json",
        HTTP_AUTHORIZATION="Bearer stq_secret_token", HTTP_COOKIE="sessionid=secret-session",
    )
    assert response.status_code == 500, response.status_code
sentry_sdk.flush(timeout=10)
"""


@pytest.mark.slow
def test_an_error_is_reported_without_body_query_cookie_or_token():
    received: list[bytes] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_port}/1",
            "LOG_LEVEL": "CRITICAL",
        }
        child = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=settings.BASE_DIR,
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, child.stderr[-3000:]
    finally:
        server.shutdown()
    sent = b"".join(received).decode("utf-8", "replace")
    assert "boom for the error-report test" in sent  # the hook is on and the error arrived
    for secret in (PHONE, NAME, json.dumps(NAME)[1:-1], "stq_secret_token", "secret-session"):
        assert secret not in sent
