"""Several server processes on one machine: counters summed, open sockets counted only for live processes
(prometheus_client's multiprocess mode under PROMETHEUS_MULTIPROC_DIR; core/metrics.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

SETUP = "import django; django.setup(); from core.metrics import OPEN_SOCKETS, HTTP_DURATION\n"


def _python(code: str, env: dict, **kwargs):
    return subprocess.Popen([sys.executable, "-c", SETUP + textwrap.dedent(code)], env=env, cwd=settings.BASE_DIR, **kwargs)


@pytest.mark.slow
def test_sockets_of_a_dead_process_drop_out_and_its_requests_stay_counted(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    # A process that served a request and held two sockets, then died.
    dead = _python("OPEN_SOCKETS.inc(); OPEN_SOCKETS.inc(); HTTP_DURATION.labels('GET', 'r', '200').observe(0.1)", env)
    assert dead.wait(timeout=60) == 0
    # A live one holding one socket, having served one request.
    live = _python(
        """
        import sys
        OPEN_SOCKETS.inc(); HTTP_DURATION.labels('GET', 'r', '200').observe(0.2)
        print('ready', flush=True); sys.stdin.read()
        """,
        env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert live.stdout.readline().strip() == "ready"
        scraped = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); from core.metrics import scrape; "
             "import sys; sys.stdout.write(scrape().decode())"],
            env={**env, "LOG_LEVEL": "CRITICAL"}, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60,
        )
        assert scraped.returncode == 0, scraped.stderr
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(scraped.stdout) for s in family.samples
        }
    finally:
        live.stdin.close()
        live.wait(timeout=30)
    assert samples[("stq_websocket_connections", ())] == 1
    assert samples[("stq_http_request_duration_seconds_count", (("method", "GET"), ("route", "r"), ("status", "200")))] == 2
