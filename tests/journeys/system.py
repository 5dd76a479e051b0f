"""The running system: `scripts/run_dev.py` (what `make run` starts) as
separate OS processes on a database of its own, and what WeChat (the stand-in) received.
The people who use it are in people.py. Nothing here imports the project's apps.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
READY_SECONDS = 120.0
# How long a journey waits for something another process does (a push, a frame, an escalation).
WAIT_SECONDS = 25.0
_codes = itertools.count(1)


def free_port() -> int:
    """A port the kernel picks: many stacks run on this machine at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS, every: float = 0.25) -> Any:
    """The first truthy value of check(), or fail naming what did not happen (and the last value seen)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except (requests.RequestException, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {str(last)[:800]})")
        time.sleep(every)


# --- the database each stack runs on -----------------------------------------------------------


@dataclass
class Backend:
    """Where stacks keep their data: SQLite files, or databases in CI's PostgreSQL cluster.

    `manage.py migrate` and `manage.py load_demo` run once per test session into a template
    (on this 2-core machine the two take over a minute); each module's stack then runs on a
    fresh copy of it: a new SQLite file, or a new database created from the template.
    """

    name: str  # "sqlite" | "postgres"
    redis_url: str = ""
    admin_url: str = ""  # PostgreSQL: the cluster's URL (DATABASE_URL of the outer run)
    folder: Path | None = None  # made by prepare(), removed by cleanup()
    template_url: str = ""

    def environment(self, database_url: str, folder: Path) -> dict[str, str]:
        """make run's environment (embedded defaults) on `database_url`; REDIS_URL on the Redis pass."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "SHEQUTONG_"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DJANGO_DEBUG": "true",
                "DATABASE_URL": database_url,
                "MEDIA_ROOT": str(folder / "media"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def prepare(self) -> None:
        """Migrate and load the demo district into the template, once."""
        if self.template_url:
            return
        self.folder = self.folder or Path(tempfile.mkdtemp(prefix="stq-journey-db."))
        url = self._new_database("template") if self.name == "postgres" else f"sqlite:///{self.folder / 'template.sqlite3'}"
        env = self.environment(url, self.folder)
        # WeChat is not up while the demo loads: the seed approves its own text then, as in `make demo`.
        env["WECHAT_API_BASE"] = f"http://127.0.0.1:{free_port()}/"
        for args in (["migrate", "--noinput"], ["load_demo"]):
            result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
            if result.returncode != 0:
                raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        self.template_url = url

    def fresh_database(self, folder: Path) -> str:
        self.prepare()
        if self.name == "sqlite":
            import sqlite3

            path = folder / "db.sqlite3"
            source = sqlite3.connect(self.template_url.removeprefix("sqlite:///"))
            target = sqlite3.connect(path)
            with target:
                source.backup(target)  # the file as it stands, WAL mode included
            source.close()
            target.close()
            return f"sqlite:///{path}"
        return self._new_database("journey", template=self._name_of(self.template_url))

    def drop(self, database_url: str) -> None:
        if self.name == "postgres":
            self._sql(f'DROP DATABASE IF EXISTS "{self._name_of(database_url)}" WITH (FORCE)')

    def cleanup(self) -> None:
        if self.template_url:
            self.drop(self.template_url)
            self.template_url = ""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _new_database(self, prefix: str, template: str | None = None) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    @staticmethod
    def _name_of(database_url: str) -> str:
        return urllib.parse.urlsplit(database_url).path.lstrip("/")

    def _sql(self, statement: str) -> None:
        import psycopg

        parts = urllib.parse.urlsplit(self.admin_url)
        conninfo = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(statement)


def backends_from_environment() -> list[Backend]:
    """The embedded defaults (SQLite, in-memory layers); in CI's second pass, where DATABASE_URL is
    PostgreSQL and REDIS_URL is set, PostgreSQL + Redis instead (the first pass ran SQLite)."""
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")) and os.environ.get("REDIS_URL"):
        return [Backend("postgres", redis_url=os.environ["REDIS_URL"], admin_url=database_url)]
    return [Backend("sqlite")]


# --- the stack ---------------------------------------------------------------------------------


@dataclass
class System:
    """`make run`'s four processes (stand-in, task worker, scheduler, daphne) under run_dev.py."""

    backend: Backend
    folder: Path = Path()  # made by start(), removed by stop()
    env: dict[str, str] = field(default_factory=dict)
    launcher: subprocess.Popen | None = None
    base: str = ""
    standin: str = ""
    database_url: str = ""

    def start(self) -> System:
        port, standin_port = free_port(), free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="stq-journey."))
        self.database_url = self.backend.fresh_database(self.folder)
        env = self.backend.environment(self.database_url, self.folder)
        env.update(
            {
                "PORT": str(port),
                "STANDIN_PORT": str(standin_port),
                "WECHAT_API_BASE": f"http://127.0.0.1:{standin_port}/",
                # Interval jobs (overdue sweep, outbox sweep, snapshots, re-checks) every 2 s, not every minute.
                "SCHEDULER_INTERVAL_SECONDS": "2",
            }
        )
        self.env = env
        self.base = f"http://127.0.0.1:{port}"
        self.standin = f"http://127.0.0.1:{standin_port}"
        log = (self.folder / "run_dev.log").open("ab")
        self.launcher = subprocess.Popen(
            [PY, "scripts/run_dev.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + READY_SECONDS
        while "社区通已启动" not in self.log():
            if self.launcher.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"make run's processes did not come up:\n{self.log()[-4000:]}")
            time.sleep(0.3)
        return self

    def stop(self) -> None:
        if self.launcher is not None and self.launcher.poll() is None:
            children = psutil.Process(self.launcher.pid).children(recursive=True)
            os.kill(self.launcher.pid, signal.SIGTERM)  # run_dev stops its children's process groups
            try:
                self.launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.launcher.kill()
                self.launcher.wait()
            _, alive = psutil.wait_procs(children, timeout=5)
            for process in alive:  # only if run_dev itself could not stop them
                process.kill()
        if self.database_url:
            self.backend.drop(self.database_url)
        if self.folder != Path():
            shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "run_dev.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def alive(self) -> bool:
        return self.launcher is not None and self.launcher.poll() is None

    def manage(self, *args: str, timeout: float = 120) -> str:
        """A management command as its own process, on this stack's database (an operator at a shell)."""
        result = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)[:200]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    # --- the WeChat stand-in's control API (what WeChat received) ------------------------------

    def standin_get(self, path: str, **params: str) -> dict:
        response = requests.get(f"{self.standin}/__standin__/{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def messages_to(self, openid: str, template_id: str | None = None) -> list[dict]:
        messages = self.standin_get("messages", openid=openid)["messages"]
        return [m for m in messages if m["touser"] == openid and (template_id is None or m["template_id"] == template_id)]

    def wait_for_message(self, openid: str, template_id: str, page: str, what: str, **values: str) -> dict:
        """The one subscribe message WeChat received for `openid` that opens `page` (and whose
        fields have `values`, when several pushes open the same page)."""

        def found() -> dict | None:
            matching = [
                m for m in self.messages_to(openid, template_id)
                if m.get("page") == page and all(m["data"].get(k, {}).get("value") == v for k, v in values.items())
            ]
            assert len(matching) <= 1, f"sent twice: {matching}"
            return matching[0] if matching else None

        received = lambda: [(m["template_id"], m.get("page"), m["data"]) for m in self.messages_to(openid)]  # noqa: E731
        try:
            return wait_until(found, f"{what}: the push to {openid} opening {page} {values or ''}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; WeChat received for {openid}: {received()}") from None
