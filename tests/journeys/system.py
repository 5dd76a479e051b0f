"""The running system as a person meets it: `scripts/run_dev.py` (what `make run` starts) as
separate OS processes on a database of its own, and clients that speak only HTTP and WebSocket.

Nothing here imports the project's apps: a journey sees what a phone, a browser or WeChat sees.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

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
            os.kill(self.launcher.pid, signal.SIGTERM)  # run_dev stops its children's groups
            try:
                self.launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.launcher.pid, signal.SIGKILL)
                self.launcher.wait()
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


# --- a person on a phone -----------------------------------------------------------------------


class ApiError(AssertionError):
    pass


class Person:
    """A mini-program user: logs in through the stand-in with a demo code, then calls the API."""

    def __init__(self, system: System, openid: str) -> None:
        self.system = system
        self.openid = openid
        self.http = requests.Session()
        answer = self.call("POST", "/api/v1/auth/wechat", {"code": f"demo-{openid}-{next(_codes)}-{uuid.uuid4().hex[:6]}"},
                           expect=200, auth=False)
        self.token: str = answer["token"]
        self.user: dict = answer["user"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    @property
    def id(self) -> int:
        return self.user["id"]

    def call(self, method: str, path: str, body: Any = None, *, expect: int | tuple[int, ...] = (200, 201),
             auth: bool = True, files: dict | None = None, headers: dict | None = None) -> Any:
        url = path if path.startswith("http") else self.system.base + path
        kwargs: dict[str, Any] = {"timeout": 30, "headers": headers or {}}
        if files is not None:
            kwargs["files"] = files
            kwargs["data"] = body or {}
        elif body is not None:
            kwargs["json"] = body
        response = self.http.request(method, url, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in wanted:
            raise ApiError(f"{self.openid}: {method} {path} → {response.status_code} (wanted {wanted}): {response.text[:800]}")
        if response.status_code == 204 or not response.content:
            return None
        return response.json() if "json" in response.headers.get("Content-Type", "") else response.content

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)

    def accept_every_template(self, taps: int = 10) -> list[str]:
        """What the mini-program does after wx.requestSubscribeMessage, `taps` times: every template
        the person can receive, accepted — reported to us and, as WeChat counts it, to the stand-in.
        One accept is one push, so a journey with a push at each step needs a tap per step."""
        templates = self.get("/api/v1/notifications/templates")["templates"]
        template_ids = sorted({t["template_id"] for t in templates})
        for _ in range(taps):
            self.post("/api/v1/notifications/consents", {"results": {tid: "accept" for tid in template_ids}})
            response = requests.post(f"{self.system.standin}/__standin__/consents/accept",
                                     json={"openid": self.openid, "template_ids": template_ids}, timeout=10)
            response.raise_for_status()
        return template_ids

    def socket(self, *streams: str) -> Socket:
        return Socket(self.system, self.token, streams)

    def fetch(self, url: str) -> requests.Response:
        """A URL the API handed out, opened as the phone would (absolute, or relative to the server)."""
        absolute = url if url.startswith("http") else urllib.parse.urljoin(self.system.base + "/", url)
        try:
            return self.http.get(absolute, timeout=15)
        except requests.RequestException as exc:
            raise AssertionError(f"{url} handed out by the server at {self.system.base} cannot be fetched: {exc}") from exc


class SocketClosed(Exception):
    pass


class Socket:
    """`/ws/v1/` with the person's token; frames are read in a thread and kept in order."""

    def __init__(self, system: System, token: str, streams: tuple[str, ...]) -> None:
        ws_base = system.base.replace("http://", "ws://", 1)
        self._connect = connect(f"{ws_base}/ws/v1/?token={urllib.parse.quote(token)}", open_timeout=15)
        self.connection = self._connect.__enter__()
        self.frames: list[dict] = []
        self.closed_with: int | None = None
        self._inbox: queue.Queue[dict] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        for stream in streams:
            self.connection.send(json.dumps({"action": "subscribe", "stream": stream}))
            self.wait_for(lambda f, s=stream: f.get("type") == "subscribed" and f.get("stream") == s,
                          f"subscribed to {stream}", timeout=15)

    def _read(self) -> None:
        try:
            for raw in self.connection:
                frame = json.loads(raw)
                self.frames.append(frame)
        except ConnectionClosed as exc:
            self.closed_with = exc.rcvd.code if exc.rcvd else -1

    def wait_for(self, match: Callable[[dict], bool], what: str, timeout: float = WAIT_SECONDS) -> dict:
        def found() -> dict | None:
            frame = next((f for f in self.frames if match(f)), None)
            if frame is None and self.closed_with is not None:
                raise SocketClosed(f"socket frame: {what}: never came")
            return frame

        try:
            return wait_until(found, f"socket frame: {what}", timeout=timeout, every=0.1)
        except (AssertionError, SocketClosed) as exc:
            seen = [(f.get("stream"), f.get("type") or f.get("error")) for f in self.frames]
            closed = "" if self.closed_with is None else f"; the server closed the socket with {self.closed_with}"
            raise AssertionError(f"{exc} (frames received: {seen}{closed})") from None

    def event(self, stream: str, type_: str, what: str, timeout: float = WAIT_SECONDS, **payload: Any) -> dict:
        def match(frame: dict) -> bool:
            return (frame.get("stream") == stream and frame.get("type") == type_
                    and all(frame.get("payload", {}).get(k) == v for k, v in payload.items()))

        return self.wait_for(match, f"{what}: {type_} on {stream} {payload or ''}", timeout=timeout)

    def close(self) -> None:
        self._connect.__exit__(None, None, None)
        self._reader.join(timeout=5)


# --- a browser on the console ------------------------------------------------------------------

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class ConsoleUser:
    """Committee staff or an officer in a browser: the console's session login form, CSRF and all."""

    def __init__(self, system: System, username: str, password: str = "demo12345") -> None:
        self.system = system
        self.http = requests.Session()
        login = f"{system.base}/console/login/"
        page = self.http.get(login, timeout=30)
        assert page.status_code == 200, page.text[:500]
        token = CSRF.search(page.text)
        assert token, "the login page has no CSRF token"
        answer = self.http.post(
            login, data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
            headers={"Referer": login}, timeout=30, allow_redirects=False,
        )
        assert answer.status_code == 302, (answer.status_code, answer.text[:800])
        self.username = username

    def page(self, path: str) -> str:
        response = self.http.get(f"{self.system.base}{path}", timeout=60)
        assert response.status_code == 200, (path, response.status_code, response.text[:800])
        return response.text

    def form_post(self, path: str, data: dict, *, page: str | None = None) -> requests.Response:
        """Submit a form as the browser does: the CSRF token from the page the form is on."""
        html = self.page(page or path)
        token = CSRF.search(html)
        assert token, f"no CSRF token on {page or path}"
        return self.http.post(f"{self.system.base}{path}", data={"csrfmiddlewaretoken": token.group(1), **data},
                              headers={"Referer": f"{self.system.base}{page or path}"}, timeout=30,
                              allow_redirects=False)


def assert_push(message: dict, fields: dict[str, Any]) -> None:
    """Every field WeChat received is filled (none "-"), and each named one has its value
    (a str, or a compiled pattern)."""
    values = {key: value["value"] for key, value in message["data"].items()}
    for key, value in values.items():
        assert value and value.strip() and value != "-", f"field {key} is empty or '-': {values}"
    for key, want in fields.items():
        assert key in values, f"no {key} in {values}"
        if isinstance(want, re.Pattern):
            assert want.match(values[key]), (key, values)
        else:
            assert values[key] == want, (key, values)


ANY_TIME = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$")


def jpeg(color: tuple[int, int, int] = (200, 120, 40), size: tuple[int, int] = (320, 240)) -> bytes:
    """A photo as a phone uploads it."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=85)
    return out.getvalue()
