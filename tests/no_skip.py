"""A test that skips where its backend is present fails instead.

Tests that need PostgreSQL, Redis, Chromium or mosquitto skip on a run without them (the SQLite pass of
`make test`). Where the backend *is* there, a skip can only mean the test quietly stopped
testing: a condition that went stale, a route that was never wired, a fixture that gave up.
So a skipped test marked `postgres`, `redis`, `browser` or `mqtt` is reported as failed when every
backend it is marked for is present:

- `postgres`: DATABASE_URL names PostgreSQL (`postgres://`, `postgresql://`, `pgsql://`);
- `redis`: REDIS_URL is set;
- `browser`: /usr/bin/chromium exists;
- `mqtt`: mosquitto is installed (/usr/sbin/mosquitto, Debian's package): the tests start
  their own broker from it (tests/mosquitto_process.py), so no URL is needed.

A test marked for two backends (the process tests need PostgreSQL *and* Redis) may still skip
on a run that has only one of them. Loaded by tests/conftest.py; a plugin module of its own so
that tests/core/test_no_skip.py can load it alone (`-p tests.no_skip`) in a child pytest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
MOSQUITTO = Path("/usr/sbin/mosquitto")
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


def backends_present() -> set[str]:
    """The marks whose backend this run has."""
    present = set()
    if os.environ.get("DATABASE_URL", "").startswith(POSTGRES_SCHEMES):
        present.add("postgres")
    if os.environ.get("REDIS_URL"):
        present.add("redis")
    if CHROMIUM.exists():
        present.add("browser")
    if MOSQUITTO.exists():
        present.add("mqtt")
    return present


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if not report.skipped or hasattr(report, "wasxfail"):
        return report
    needs = {name for name in ("postgres", "redis", "browser", "mqtt") if item.get_closest_marker(name)}
    if needs and needs <= backends_present():
        report.outcome = "failed"
        report.longrepr = (
            f"skipped although {', '.join(sorted(needs))} is present on this run "
            f"(a test marked for its backend must run where the backend is): {_skip_reason(report)}"
        )
    return report
