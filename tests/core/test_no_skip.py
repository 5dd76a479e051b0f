"""tests/no_skip.py: where a test's backend is present, its skip is a failure.

Each case runs a child pytest, with only that plugin loaded, on a small generated test file
and reads the outcomes from its JUnit XML: the environment (DATABASE_URL, REDIS_URL) is the
child's own, as it is in CI's two passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TESTS = '''
import pytest

@pytest.mark.postgres
def test_pg_skip_in_body():
    pytest.skip("stale condition")

@pytest.mark.postgres
@pytest.mark.skipif(True, reason="skipif at setup")
def test_pg_skipif():
    pass

@pytest.mark.postgres
def test_pg_runs():
    pass

@pytest.mark.redis
def test_redis_skip():
    pytest.skip("REDIS_URL not set")

@pytest.mark.postgres
@pytest.mark.redis
def test_pg_and_redis_skip():
    pytest.skip("needs both")

@pytest.mark.browser
def test_browser_skip():
    pytest.skip("no chromium")

@pytest.mark.mqtt
def test_mqtt_skip():
    pytest.skip("no mosquitto")

@pytest.mark.postgres
@pytest.mark.xfail(reason="a known failure is not a skip")
def test_pg_xfail():
    assert False

def test_unmarked_skip():
    pytest.skip("nothing to enforce")
'''

# The plugin looks for Chromium and mosquitto at fixed paths; the child points it at files of the case's choosing.
CONFTEST = '''
import os
from pathlib import Path

import tests.no_skip

tests.no_skip.CHROMIUM = Path(os.environ["NO_SKIP_TEST_CHROMIUM"])
tests.no_skip.MOSQUITTO = Path(os.environ["NO_SKIP_TEST_MOSQUITTO"])
'''


def _run(tmp_path: Path, *, database_url: str = "", redis_url: str = "", chromium: bool = False, mosquitto: bool = False):
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    postgres\n    redis\n    browser\n    mqtt\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_generated.py").write_text(TESTS)
    fake_chromium = tmp_path / "chromium"
    if chromium:
        fake_chromium.write_text("")
    fake_mosquitto = tmp_path / "mosquitto"
    if mosquitto:
        fake_mosquitto.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    # Only this plugin: the installed ones (django, hypothesis, playwright…) cost seconds per child.
    env.update(PYTHONPATH=str(REPO), NO_SKIP_TEST_CHROMIUM=str(fake_chromium),
               NO_SKIP_TEST_MOSQUITTO=str(fake_mosquitto), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.no_skip", "-p", "no:cacheprovider", "-q", f"--junitxml={junit}", "test_generated.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcome = "failed" if kinds & {"failure", "error"} else "skipped" if kinds else "passed"
        if outcome == "skipped" and "xfail" in (case.find("skipped").get("type") or "") + (
            case.find("skipped").get("message") or ""
        ):
            outcome = "xfailed"
        outcomes[case.get("name")] = outcome
    return proc, outcomes


def test_without_backends_every_skip_stays_a_skip(tmp_path):
    proc, outcomes = _run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outcomes == {
        "test_pg_skip_in_body": "skipped", "test_pg_skipif": "skipped", "test_pg_runs": "passed",
        "test_redis_skip": "skipped", "test_pg_and_redis_skip": "skipped", "test_browser_skip": "skipped",
        "test_mqtt_skip": "skipped", "test_pg_xfail": "xfailed", "test_unmarked_skip": "skipped",
    }


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_on_postgresql_a_skipped_postgres_test_fails(tmp_path, scheme):
    proc, outcomes = _run(tmp_path, database_url=f"{scheme}://postgres@127.0.0.1:1/x")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert outcomes == {
        "test_pg_skip_in_body": "failed", "test_pg_skipif": "failed", "test_pg_runs": "passed",
        # Redis is not there, so a test that needs it too may still skip.
        "test_redis_skip": "skipped", "test_pg_and_redis_skip": "skipped", "test_browser_skip": "skipped",
        "test_mqtt_skip": "skipped", "test_pg_xfail": "xfailed", "test_unmarked_skip": "skipped",
    }
    assert "skipped although postgres is present on this run" in proc.stdout
    assert "stale condition" in proc.stdout


def test_with_redis_url_a_skipped_redis_test_fails(tmp_path):
    proc, outcomes = _run(tmp_path, redis_url="redis://127.0.0.1:1/0")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert {name for name, outcome in outcomes.items() if outcome == "failed"} == {"test_redis_skip"}


def test_with_postgresql_and_redis_a_test_needing_both_fails_when_it_skips(tmp_path):
    proc, outcomes = _run(tmp_path, database_url="postgres://postgres@127.0.0.1:1/x", redis_url="redis://h:1/0")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert {name for name, outcome in outcomes.items() if outcome == "failed"} == {
        "test_pg_skip_in_body", "test_pg_skipif", "test_redis_skip", "test_pg_and_redis_skip",
    }


def test_with_chromium_installed_a_skipped_browser_test_fails(tmp_path):
    proc, outcomes = _run(tmp_path, chromium=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert {name for name, outcome in outcomes.items() if outcome == "failed"} == {"test_browser_skip"}


def test_with_mosquitto_installed_a_skipped_mqtt_test_fails(tmp_path):
    proc, outcomes = _run(tmp_path, mosquitto=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert {name for name, outcome in outcomes.items() if outcome == "failed"} == {"test_mqtt_skip"}
