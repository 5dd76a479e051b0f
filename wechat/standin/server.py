"""The stand-in's HTTP server: WeChat's endpoints under the base URL, and a control API
under `/__standin__/`. Stdlib only (http.server), so it starts anywhere, in a thread or
as `manage.py wechat_standin`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from wechat.push import encrypt_and_sign
from wechat.standin.state import PushConfig, StandinState, error

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/__standin__/"

# path -> (method, needs access_token, handler name on the server)
ENDPOINTS: dict[str, tuple[str, bool, str]] = {
    "cgi-bin/token": ("GET", False, "classic_token"),
    "cgi-bin/stable_token": ("POST", False, "stable_token"),
    "sns/jscode2session": ("GET", False, "jscode2session"),
    "wxa/business/getuserphonenumber": ("POST", True, "phone_number"),
    "cgi-bin/message/subscribe/send": ("POST", True, "subscribe_send"),
    "wxa/msg_sec_check": ("POST", True, "msg_sec_check"),
    "wxa/media_check_async": ("POST", True, "media_check_async"),
    "wxa/getwxacodeunlimit": ("POST", True, "unlimited_qrcode"),
}

# Query parameters never written to the call log.
_SECRET_PARAMS = {"secret", "access_token"}


class _Dropped(Exception):
    """Close the connection without answering."""


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for handler threads on close: some sleep in injected delays.
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: StandinState) -> None:
        self.state = state
        self.stopping = threading.Event()
        super().__init__(address, StandinHandler)

    # ---- push delivery -------------------------------------------------------------

    def deliver_push(
        self,
        event: dict[str, Any],
        openid: str | None = None,
        config: PushConfig | None = None,
    ) -> dict[str, Any]:
        """POST one signed push to the configured URL now; returns the log entry."""
        if config is None:
            with self.state.lock:
                config = replace(self.state.push)
        entry: dict[str, Any] = {
            "event": event,
            "url": config.url,
            "at": self.state.now(),
        }
        if not config.url:
            entry["status"] = "skipped: no push url configured"
            self._log_push(entry)
            return entry
        signed = encrypt_and_sign(
            message=event,
            token=config.token,
            aes_key=config.aes_key or None,
            appid=config.appid,
            fmt=config.format,
            openid=openid or event.get("FromUserName"),
            to_user_name=config.username,
        )
        separator = "&" if "?" in config.url else "?"
        request = urllib.request.Request(
            config.url + separator + urlencode(signed.query),
            data=signed.body,
            headers={"Content-Type": signed.content_type},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                entry["status"] = response.status
                entry["answer"] = response.read(200).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            entry["status"] = exc.code
        except OSError as exc:
            # ASSUMPTION: WeChat retries failed pushes a few times; the stand-in tries once
            # and records the failure (replay with POST /__standin__/push).
            entry["status"] = f"error: {type(exc).__name__}"
        self._log_push(entry)
        return entry

    def _log_push(self, entry: dict[str, Any]) -> None:
        with self.state.lock:
            self.state.pushes.append(entry)

    def deliver_push_later(self, event: dict[str, Any]) -> None:
        # The configuration in force when WeChat accepted the check, not when the push
        # leaves: a later reconfiguration (next test) must not redirect it.
        with self.state.lock:
            config = replace(self.state.push)

        def run() -> None:
            if not self.stopping.wait(config.delay):
                self.deliver_push(event, config=config)

        threading.Thread(target=run, name="standin-push", daemon=True).start()


class StandinHandler(BaseHTTPRequestHandler):
    server: StandinServer
    server_version = "standin"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("standin: " + format, *args)

    # ---- plumbing ------------------------------------------------------------------

    @property
    def state(self) -> StandinState:
        return self.server.state

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout) before we answered

    def _send_json(self, payload: Any, status: int = 200) -> None:
        self._send(
            status,
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            "application/json; charset=UTF-8",
        )

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = self._read_body()
        try:
            if parts.path.startswith(CONTROL_PREFIX):
                self._control(
                    method, parts.path[len(CONTROL_PREFIX) :].strip("/"), query, body
                )
            else:
                self._wechat(method, parts.path.lstrip("/"), query, body)
        except _Dropped:
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass

    # ---- WeChat endpoints ----------------------------------------------------------

    def _wechat(
        self, method: str, path: str, query: dict[str, str], raw_body: bytes
    ) -> None:
        started = time.time()
        entry: dict[str, Any] = {
            "at": self.state.now(),
            "method": method,
            "path": path,
            "query": {k: v for k, v in query.items() if k not in _SECRET_PARAMS},
        }
        answer = self._wechat_answer(method, path, query, raw_body, entry)
        entry["duration"] = round(time.time() - started, 3)
        if isinstance(answer, bytes):
            entry["errcode"] = 0
            entry["bytes"] = len(answer)
            self.state.log_call(entry)
            self._send(
                200, answer, "image/png"
            )  # ASSUMPTION: WeChat's content type for codes
        elif isinstance(answer, _Raw):
            entry["errcode"] = "malformed"
            self.state.log_call(entry)
            self._send(200, answer.body, "application/json; charset=UTF-8")
        else:
            entry["errcode"] = answer.get("errcode", 0)
            self.state.log_call(entry)
            self._send_json(answer)

    def _wechat_answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        raw_body: bytes,
        entry: dict[str, Any],
    ) -> Any:
        endpoint = ENDPOINTS.get(path)
        if endpoint is None:
            # ASSUMPTION: WeChat's answer for an unknown path (it is not an API errcode).
            return error(40066, "invalid url")
        expected_method, needs_token, handler_name = endpoint
        if method != expected_method:
            return (
                error(43001, "require GET method")
                if expected_method == "GET"
                else error(43002, "require POST method")
            )

        hold = 0.0
        for fault in self.state.take_faults(path):
            entry.setdefault("faults", []).append(fault.kind)
            if fault.kind == "delay" and fault.after:
                hold += fault.delay
            elif fault.kind == "delay":
                if self.server.stopping.wait(fault.delay):
                    raise _Dropped()
            elif fault.kind == "close":
                entry["errcode"] = "closed"
                self.state.log_call(entry)
                raise _Dropped()
            elif fault.kind == "malformed":
                return _Raw(b'{"errcode": 0, "errmsg": "ok", "trace_id": ')
            else:
                return error(
                    fault.errcode, _FAULT_MESSAGES.get(fault.errcode, "injected fault")
                )

        body: dict[str, Any] = {}
        if expected_method == "POST":
            if not raw_body.strip():
                return error(44002, "empty post data")
            try:
                parsed = json.loads(raw_body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return error(47001, "data format error")
            if not isinstance(parsed, dict):
                return error(47001, "data format error")
            body = parsed
        if needs_token:
            problem = self.state.check_token(query.get("access_token"))
            if problem:
                return problem
        for key in ("touser", "openid"):
            if isinstance(body.get(key), str):
                entry["openid"] = body[key]
        answer = getattr(self, "_wechat_" + handler_name)(query, body)
        # A late answer to a request WeChat has already carried out: the caller's read times out.
        if hold and self.server.stopping.wait(hold):
            raise _Dropped()
        return answer

    def _wechat_classic_token(self, query: dict[str, str], body: dict[str, Any]) -> Any:
        return self.state.classic_token(query)

    def _wechat_stable_token(self, query: dict[str, str], body: dict[str, Any]) -> Any:
        return self.state.stable_token_call(body)

    def _wechat_jscode2session(
        self, query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        return self.state.jscode2session(query)

    def _wechat_phone_number(self, query: dict[str, str], body: dict[str, Any]) -> Any:
        return self.state.phone_number(body)

    def _wechat_subscribe_send(
        self, query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        return self.state.subscribe_send(body)

    def _wechat_msg_sec_check(self, query: dict[str, str], body: dict[str, Any]) -> Any:
        return self.state.msg_sec_check(body)

    def _wechat_media_check_async(
        self, query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        answer, event = self.state.media_check_async(body)
        if event is not None:
            self.server.deliver_push_later(event)
        return answer

    def _wechat_unlimited_qrcode(
        self, query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        return self.state.unlimited_qrcode(body)

    # ---- control API ---------------------------------------------------------------

    def _control(
        self, method: str, path: str, query: dict[str, str], raw_body: bytes
    ) -> None:
        try:
            body = json.loads(raw_body.decode("utf-8")) if raw_body.strip() else {}
        except ValueError:
            self._send_json({"error": "body is not JSON"}, 400)
            return
        route = _CONTROL_ROUTES.get((method, path))
        if route is None:
            self._send_json(
                {"error": f"no control route {method} /__standin__/{path}"}, 404
            )
            return
        try:
            result = route(self, query, body)
        except (KeyError, ValueError, TypeError) as exc:
            self._send_json({"error": f"bad request: {exc!r}"}, 400)
            return
        self._send_json(result)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body


_FAULT_MESSAGES = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40014: "invalid access_token",
    42001: "access_token expired",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
}


# ---- control routes ----------------------------------------------------------------

ControlRoute = Callable[[StandinHandler, dict[str, str], dict[str, Any]], Any]
_CONTROL_ROUTES: dict[tuple[str, str], ControlRoute] = {}


def _route(method: str, path: str) -> Callable[[ControlRoute], ControlRoute]:
    def register(func: ControlRoute) -> ControlRoute:
        _CONTROL_ROUTES[(method, path)] = func
        return func

    return register


@_route("POST", "reset")
def _reset(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    h.state.reset()
    return {"ok": True}


@_route("GET", "state")
def _state(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    return h.state.summary()


@_route("GET", "faults")
def _faults(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        return {"faults": [f.as_dict() for f in h.state.faults]}


@_route("POST", "faults")
def _add_fault(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    specs = b.get("faults", [b])
    return {"faults": [h.state.add_fault(spec).as_dict() for spec in specs]}


@_route("DELETE", "faults")
def _clear_faults(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        h.state.faults.clear()
    return {"ok": True}


@_route("GET", "clock")
def _clock(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    return {"now": h.state.now(), "offset": h.state.clock_offset}


@_route("POST", "clock")
def _advance(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    now = h.state.advance(float(b["advance"]))
    return {"now": now, "offset": h.state.clock_offset}


@_route("POST", "login-codes")
def _login_code(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    code = h.state.mint_login_code(str(b["openid"]), b.get("unionid"), b.get("code"))
    return {"code": code}


@_route("POST", "phone-codes")
def _phone_code(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    code = h.state.mint_phone_code(
        str(b["phone_number"]), str(b.get("country_code", "86")), b.get("code")
    )
    return {"code": code}


@_route("GET", "consents")
def _get_consents(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        if "openid" in q and "template_id" in q:
            return {
                "openid": q["openid"],
                "template_id": q["template_id"],
                "count": h.state.consents.get((q["openid"], q["template_id"]), 0),
                "long_term": q["template_id"] in h.state.long_term_templates,
            }
        return {
            "consents": [
                {"openid": o, "template_id": t, "count": c}
                for (o, t), c in sorted(h.state.consents.items())
                if q.get("openid") in (None, o)
            ]
        }


@_route("POST", "consents")
def _set_consent(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    count = h.state.set_consent(
        str(b["openid"]), str(b["template_id"]), int(b["count"])
    )
    return {"openid": b["openid"], "template_id": b["template_id"], "count": count}


@_route("POST", "consents/accept")
def _accept(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    """The user tapped "accept" in wx.requestSubscribeMessage: +1 per template, and
    (with "push": true) WeChat's subscribe_msg_popup_event push."""
    openid = str(b["openid"])
    template_ids = [str(t) for t in b["template_ids"]]
    counts = {t: h.state.add_consent(openid, t) for t in template_ids}
    result: dict[str, Any] = {"openid": openid, "counts": counts}
    if b.get("push"):
        event = {
            "ToUserName": h.state.push.username,
            "FromUserName": openid,
            "CreateTime": int(h.state.now()),
            "MsgType": "event",
            "Event": "subscribe_msg_popup_event",
            "List": [
                {
                    "TemplateId": t,
                    "SubscribeStatusString": "accept",
                    "PopupScene": str(b.get("popup_scene", 0)),
                }
                for t in template_ids
            ],
        }
        result["push"] = h.server.deliver_push(event, openid)
    return result


@_route("POST", "templates/long-term")
def _long_term(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        if b.get("long_term", True):
            h.state.long_term_templates.add(str(b["template_id"]))
        else:
            h.state.long_term_templates.discard(str(b["template_id"]))
        return {"long_term_templates": sorted(h.state.long_term_templates)}


@_route("GET", "words")
def _get_words(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        return {
            "risky": dict(h.state.risky_words),
            "review": dict(h.state.review_words),
        }


@_route("POST", "words")
def _set_words(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    """Replace a list ("risky"/"review": {word: label}); "add_risky"/"add_review" extend it."""
    with h.state.lock:
        for name in ("risky", "review"):
            if name in b:
                setattr(
                    h.state,
                    f"{name}_words",
                    {str(w): int(label) for w, label in _word_map(b[name]).items()},
                )
            if f"add_{name}" in b:
                getattr(h.state, f"{name}_words").update(_word_map(b[f"add_{name}"]))
        return {
            "risky": dict(h.state.risky_words),
            "review": dict(h.state.review_words),
        }


def _word_map(value: Any) -> dict[str, int]:
    if isinstance(value, list):  # plain word list: the list's default label
        return {str(w): 0 for w in value}
    return {str(w): int(label) for w, label in value.items()}


@_route("GET", "media-verdicts")
def _get_media(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        return {"rules": list(h.state.media_rules)}


@_route("POST", "media-verdicts")
def _set_media(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    rules = b["rules"]
    for rule in rules:
        if "match" not in rule:
            raise ValueError("every rule needs 'match'")
    with h.state.lock:
        h.state.media_rules = [dict(rule) for rule in rules]
        return {"rules": list(h.state.media_rules)}


@_route("GET", "media-checks")
def _media_checks(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        return {"media_checks": h.state.media_checks}


@_route("GET", "push-config")
def _get_push(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    return h.state.push.as_dict()


@_route("POST", "push-config")
def _set_push(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        config = h.state.push
        for key in ("url", "token", "aes_key", "appid", "format", "delay", "username"):
            if key in b:
                setattr(config, key, b[key])
        if config.format not in ("json", "xml"):
            raise ValueError("format must be json or xml")
        if config.aes_key and len(config.aes_key) != 43:
            raise ValueError("aes_key (EncodingAESKey) must be 43 characters")
        config.delay = float(config.delay)
        return config.as_dict()


@_route("POST", "push")
def _push_now(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    """Send any event (e.g. subscribe_msg_change_event) to the push URL now, signed."""
    return h.server.deliver_push(dict(b["message"]), b.get("openid"))


@_route("GET", "pushes")
def _pushes(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        return {"pushes": list(h.state.pushes)}


@_route("GET", "messages")
def _messages(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        return {
            "messages": [
                m
                for m in h.state.sent_messages
                if q.get("openid") in (None, m["touser"])
            ]
        }


@_route("GET", "calls")
def _calls(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        return {
            "calls": [c for c in h.state.calls if q.get("path") in (None, c["path"])]
        }


@_route("DELETE", "calls")
def _clear_calls(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    with h.state.lock:
        h.state.calls.clear()
    return {"ok": True}


@_route("POST", "qr-config")
def _qr_config(h: StandinHandler, q: dict[str, str], b: dict[str, Any]) -> Any:
    """{"published_pages": [...]} turns page validation on; null turns it off."""
    pages = b.get("published_pages")
    with h.state.lock:
        h.state.published_pages = [str(p) for p in pages] if pages is not None else None
        return {"published_pages": h.state.published_pages}


# ---- entry points --------------------------------------------------------------------


@dataclass
class StandinHandle:
    url: str  # base URL ending in '/', to use as WECHAT_API_BASE
    state: StandinState
    server: StandinServer
    thread: threading.Thread

    @property
    def control_url(self) -> str:
        return self.url + CONTROL_PREFIX.lstrip("/")

    def reset(self) -> None:
        """Forget tokens, codes, consents, faults, logs, clock and push-config changes."""
        self.state.reset()

    def control(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> Any:
        """Call the control API over HTTP, e.g. control("POST", "faults", {...})."""
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.control_url + path.lstrip("/"),
            data=data,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read().decode("utf-8"))

    def stop(self) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def make_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    appid: str = "wxstandin0000000",
    secret: str = "standin-secret",
    push: PushConfig | None = None,
) -> StandinServer:
    state = StandinState(appid=appid, secret=secret, push=push or PushConfig())
    return StandinServer((host, port), state)


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    appid: str = "wxstandin0000000",
    secret: str = "standin-secret",
    push: PushConfig | None = None,
) -> StandinHandle:
    """Start a stand-in on a (free, with port=0) port in a daemon thread."""
    server = make_server(host, port, appid=appid, secret=secret, push=push)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    return StandinHandle(
        url=f"http://{bound_host}:{bound_port}/",
        state=server.state,
        server=server,
        thread=thread,
    )
