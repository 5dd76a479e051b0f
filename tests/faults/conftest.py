"""The fault suite's system: every part a separate OS process, as in production.

One private PostgreSQL cluster and one Redis (throwaway, on free ports of bench/stack.py's
block), the WeChat stand-in (`manage.py wechat_standin`), two uvicorn servers
(DJANGO_DEBUG=false), one `db_worker` and `run_scheduler`. The cluster is migrated and
loaded with the demo district by running `manage.py migrate` / `load_demo` as
subprocesses, so personas log in through the stand-in with `demo-<openid>-<n>` codes.

Runs in CI's PostgreSQL pass (DATABASE_URL is postgres). There a missing PostgreSQL or
Redis binary is a failure, not a skip: a fault suite that silently does not run holds
nothing. On the SQLite pass the module is skipped.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.stack import PGBIN, Stack, production_env

POSTGRES_PASS = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))

# Short periods so "ran again within one period after recovery" fits in a test.
SCHEDULER_MAX_INTERVAL = 4
OUTBOX_LEASE_SECONDS = 6
WECHAT_TIMEOUT_SECONDS = 4.0


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here) and not POSTGRES_PASS:
            item.add_marker(
                pytest.mark.skip(reason="the fault suite runs in CI's PostgreSQL pass (DATABASE_URL=postgres://…)")
            )


def _require_binaries() -> None:
    missing = [
        str(path)
        for path in (PGBIN / "initdb", PGBIN / "pg_ctl", PGBIN / "postgres")
        if not path.exists()
    ]
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if missing:
        pytest.fail(f"the fault suite needs {', '.join(missing)} (PGBIN={PGBIN}); CI installs them", pytrace=False)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Client:
    """JSON over real HTTP, as the mini-program speaks it; never raises for a status."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, timeout: float = 15
    ) -> Reply:
        sent = {"Accept": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            status, raw, got = exc.code, exc.read(), dict(exc.headers)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            # The server did not answer at all: recorded as status 0, never as a success.
            return Reply(0, {"transport": repr(exc)}, {})
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:500]
        return Reply(status, parsed, got)


@dataclass
class FaultSystem:
    stack: Stack
    env: dict[str, str]
    servers: list[str]
    standin: str
    database_url: str
    _codes: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- people --------------------------------------------------------------------
    def login(self, openid: str, server: int = 0) -> Client:
        base = self.servers[server]
        reply = Client(base).call("POST", "/api/v1/auth/wechat", {"code": f"demo-{openid}-fault{next(self._codes)}"})
        assert reply.status == 200, (reply.status, reply.body)
        return Client(base, reply.body["token"])

    # --- the stand-in's control API -----------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        reply = Client(self.standin.rstrip("/")).call(method, f"/__standin__/{path}", body)
        assert reply.status == 200, (path, reply.status, reply.body)
        return reply.body

    def messages(self) -> list[dict]:
        """Every subscribe message the stand-in (WeChat) accepted."""
        return self.control("GET", "messages")["messages"]

    # --- the database, read directly (what the processes did) ----------------------
    def sql(self, query: str, *params: Any) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=5, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def periodic_runs_since(self, since_sql_now: Any) -> dict[str, int]:
        """task path → how many of its runs finished successfully after `since_sql_now`."""
        rows = self.sql(
            "SELECT task_path, count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE status = 'SUCCESSFUL' AND finished_at > %s GROUP BY task_path",
            since_sql_now,
        )
        return dict(rows)

    def db_now(self):
        return self.sql("SELECT now()")[0][0]

    def wait_until(self, check, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except Exception:  # the system is still coming back
                pass
            time.sleep(0.5)
        raise AssertionError(f"{what}: not within {timeout:.0f}s\n{self.logs()}")

    def logs(self, chars: int = 1500) -> str:
        return "\n".join(f"--- {name}\n{self.stack.tail(name, chars)}" for name in sorted(self.stack.logs))

    # --- processes -------------------------------------------------------------------
    def start_worker(self) -> None:
        self.stack.spawn(
            "db_worker",
            [
                *_python(),
                "manage.py",
                "db_worker",
                "--queue-name",
                "default,wechat",
                "--no-reload",
                "--interval",
                "0.2",
            ],
            env=self.env,
        )


def _port(name: str) -> int | None:
    value = os.environ.get(name, "")
    return int(value) if value else None


def _python() -> list[str]:
    import sys

    return [sys.executable]


@pytest.fixture(scope="module")
def system() -> Iterator[FaultSystem]:
    _require_binaries()
    # FAULTS_KEEP=1 keeps the work directory (every process's log) for a post-mortem.
    # A work directory of its own name, so a kept one is easy to tell from a benchmark's.
    workdir = Path(tempfile.mkdtemp(prefix="stq-bench.faults-"))
    stack = Stack(workdir=workdir, keep_pgdata=bool(os.environ.get("FAULTS_KEEP")))
    try:
        yield start_system(stack)
    finally:
        stack.stop()


def start_system(stack: Stack) -> FaultSystem:
    """Start every process of the system on `stack`; the caller stops it."""
    if True:
        # FAULTS_PGPORT / FAULTS_REDISPORT pin the ports (a shared machine); else a free one.
        database_url = stack.start_postgres(small=True, port=_port("FAULTS_PGPORT"))
        redis_url = stack.start_redis(port=_port("FAULTS_REDISPORT"))
        env = production_env(database_url=database_url, redis_url=redis_url, wechat_base="http://127.0.0.1:1/")
        media = stack.workdir / "media"
        media.mkdir()
        env.update(
            {
                "MEDIA_ROOT": str(media),
                "WECHAT_TIMEOUT_SECONDS": str(WECHAT_TIMEOUT_SECONDS),
                "NOTIFICATIONS_OUTBOX_LEASE_SECONDS": str(OUTBOX_LEASE_SECONDS),
                # The loops write faster than a person; the throttles are not under test here.
                **{
                    f"THROTTLE_{name}": "100000/min"
                    for name in ("LOGIN", "POST", "COMMENT", "REPORT", "SERVICE_REQUEST", "UPLOAD", "TOPIC", "VOTE")
                },
                "POST_DAILY_CAP": "100000",
                # Few connections per process: seven engineers share two cores.
                "DATABASE_POOL_MIN_SIZE": "1",
                "DATABASE_POOL_MAX_SIZE": "6",
            }
        )
        stack.manage("migrate", "--noinput", env=env, timeout=300)
        stack.manage("load_demo", env=env, timeout=300)
        standin = stack.start_wechat_standin(env)
        env["WECHAT_API_BASE"] = standin
        servers = [stack.start_uvicorn(env, workers=1, name=f"server-{n}") for n in ("a", "b")]
        system = FaultSystem(stack=stack, env=env, servers=servers, standin=standin, database_url=database_url)
        system.start_worker()
        stack.start_scheduler(env, max_interval=SCHEDULER_MAX_INTERVAL)
        stack.check_alive()
        return system
