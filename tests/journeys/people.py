"""The people in a journey, as the system meets them: a phone (the mini-program's API calls
and its WebSocket), a browser on the console, and what WeChat received.

Nothing here imports the project's apps: only HTTP and WebSocket.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.journeys.system import WAIT_SECONDS, System, wait_until

_codes = itertools.count(1)


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
