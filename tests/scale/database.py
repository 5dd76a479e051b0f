"""The URL of pytest-django's test database, for server and worker processes a test starts:
they must use the same database as the test that reads their rows."""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.parse
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection


def shared_database_url() -> str:
    db = connection.settings_dict
    return "postgres://{user}:{password}@{host}:{port}/{name}".format(
        user=urllib.parse.quote(db["USER"] or "postgres"),
        password=urllib.parse.quote(db["PASSWORD"] or ""),
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        name=db["NAME"],
    )


# The marks of a test that starts server processes on CI's PostgreSQL + Redis pass.
ON_POSTGRES_AND_REDIS = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        or not os.environ.get("REDIS_URL"),
        reason="needs DATABASE_URL=postgres://… and REDIS_URL (CI's PostgreSQL + Redis pass)",
    ),
]


def server_env() -> dict[str, str]:
    """Production settings for a server process on the test's database and Redis, with the test
    process's keys (so rows either side writes are readable by the other)."""
    from bench.stack import production_env

    env = production_env(
        database_url=shared_database_url(), redis_url=os.environ["REDIS_URL"], wechat_base="http://127.0.0.1:1/"
    )
    env["DATABASE_CONN_MAX_AGE"] = "0"  # let the test's TRUNCATE between tests through
    env["FIELD_ENCRYPTION_KEYS"] = ",".join(settings.FIELD_ENCRYPTION_KEYS)
    env["DJANGO_SECRET_KEY"] = settings.SECRET_KEY
    return env


def ephemeral_port() -> int:
    # Not bench.stack.free_port: several stacks on one machine scan its block from the same
    # end and race for the same ports; the kernel hands each caller a different one.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def two_servers(env: dict[str, str]) -> Iterator[dict]:
    """Servers A and B, one uvicorn process each on `env` (server_env() and the test's own
    settings): {"a": base URL, "b": base URL, "stack": the bench Stack}; stopped on exit."""
    from bench.stack import Stack

    stack = Stack()
    try:
        a = stack.start_uvicorn(env, workers=1, name="server-a", port=ephemeral_port())
        b = stack.start_uvicorn(env, workers=1, name="server-b", port=ephemeral_port())
        stack.check_alive()
        yield {"a": a, "b": b, "stack": stack}
    finally:
        stack.stop()


def standin_control(base: str, method: str, path: str, body: dict | None = None) -> dict:
    """The control API (`/__standin__/…`) of a WeChat stand-in started as its own process
    (bench.stack.Stack.start_wechat_standin), e.g. ("GET", "messages") or ("POST", "faults", {…})."""
    import json
    import urllib.request

    request = urllib.request.Request(
        base + "__standin__/" + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def db_worker(stack, name: str, env: dict[str, str], *, interval: float = 0.2):
    """A django-tasks-db worker on both queues, as its own process of `stack` (bench.stack.Stack),
    polling every `interval` seconds."""
    import sys

    return stack.spawn(
        name,
        [sys.executable, "manage.py", "db_worker", "--queue-name", "default,wechat", "--no-reload", "--interval", str(interval)],
        env=env,
    )
