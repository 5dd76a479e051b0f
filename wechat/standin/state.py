"""The stand-in's memory: tokens, codes, consents, word lists, faults, logs, and a simulated clock.

All WeChat behaviour that is not plumbing lives here, as methods that take the parsed
request and return the JSON answer (a dict) or image bytes. Everything is guarded by
one lock; the HTTP server is threaded.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from wechat.standin.png import make_code_png

TOKEN_LIFETIME = 7200
# ASSUMPTION: a replaced token (classic token re-fetched, stable token force-refreshed)
# keeps working for 5 minutes, as WeChat documents for the classic endpoint.
TOKEN_GRACE = 300
CODE_LIFETIME = 300
# ASSUMPTION: openids are letters, digits, '_' and '-', 1-64 chars (real ones are 28).
OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_RISKY_WORDS = {"赌博": 20006, "代开发票": 20008, "博彩": 20006, "色情": 20002}
DEFAULT_REVIEW_WORDS = {"上访": 21000, "维权": 21000}
LABEL_NAMES = {
    100: "normal",
    10001: "ad",
    20001: "politics",
    20002: "porn",
    20003: "abuse",
    20006: "illegal",
    20008: "fraud",
    20012: "vulgar",
    20013: "copyright",
    21000: "other",
}


def rid() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def error(errcode: int, errmsg: str) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": f"{errmsg} rid: {rid()}"}


@dataclass
class Token:
    expires_at: float
    retires_at: float | None = None


@dataclass
class Code:
    value: dict[str, Any]
    created_at: float
    used: bool = False


@dataclass
class Fault:
    """One injected fault on a path ('*' for every WeChat path).

    kind: "errcode" (answer `errcode`), "delay" (sleep `delay` real seconds, then go on; with
    `after`, carry the call out first and hold only the answer),
    "malformed" (answer broken JSON), "close" (drop the connection unanswered).
    Active for `times` calls, or until the simulated clock passes `until`, or until cleared.
    """

    id: int
    path: str
    kind: str
    errcode: int = -1
    delay: float = 0.0
    times: int | None = None
    until: float | None = None
    after: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "kind": self.kind,
            "errcode": self.errcode,
            "delay": self.delay,
            "after": self.after,
            "times": self.times,
            "until": self.until,
        }


@dataclass
class PushConfig:
    url: str | None = None
    token: str = ""
    aes_key: str | None = None
    appid: str = ""
    format: str = "json"
    delay: float = 0.2
    # ASSUMPTION: the mini-program's original id that WeChat puts in ToUserName.
    username: str = "gh_standin00000"

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "token": self.token,
            "aes_key": self.aes_key,
            "appid": self.appid,
            "format": self.format,
            "delay": self.delay,
            "username": self.username,
        }


@dataclass
class StandinState:
    appid: str
    secret: str
    push: PushConfig = field(default_factory=PushConfig)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        if not self.push.appid:
            self.push.appid = self.appid
        self.initial_push = replace(self.push)
        self.reset()

    # ---- lifecycle and clock -------------------------------------------------------

    def reset(self) -> None:
        """Back to the state at start-up: only appid, secret and the start-up push config remain."""
        with self.lock:
            self.push = replace(self.initial_push)
            self.clock_offset = 0.0
            self.tokens: dict[str, Token] = {}
            self.stable_token: str | None = None
            self.force_refreshes: list[float] = []
            self.login_codes: dict[str, Code] = {}
            self.phone_codes: dict[str, Code] = {}
            self.session_keys: dict[str, str] = {}
            self.consents: dict[tuple[str, str], int] = {}
            self.long_term_templates: set[str] = set()
            self.sent_messages: list[dict[str, Any]] = []
            self.risky_words = dict(DEFAULT_RISKY_WORDS)
            self.review_words = dict(DEFAULT_REVIEW_WORDS)
            self.media_rules: list[dict[str, Any]] = []
            self.media_checks: dict[str, dict[str, Any]] = {}
            self.pushes: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self.calls: list[dict[str, Any]] = []
            self.published_pages: list[str] | None = None
            self._next_id = 1

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> float:
        with self.lock:
            self.clock_offset += seconds
            return self.now()

    def next_id(self) -> int:
        with self.lock:
            value = self._next_id
            self._next_id += 1
            return value

    # ---- faults --------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        kind = spec.get("kind") or (
            "delay" if "delay" in spec and "errcode" not in spec else "errcode"
        )
        if kind not in ("errcode", "delay", "malformed", "close"):
            raise ValueError(f"unknown fault kind {kind!r}")
        path = str(spec.get("path", "*")).lstrip("/")
        seconds = spec.get("seconds")
        with self.lock:
            fault = Fault(
                id=self.next_id(),
                path=path,
                kind=kind,
                errcode=int(spec.get("errcode", -1)),
                delay=float(spec.get("delay", 0.0)),
                after=bool(spec.get("after", False)),
                times=int(spec["times"]) if spec.get("times") is not None else None,
                until=self.now() + float(seconds) if seconds is not None else None,
            )
            self.faults.append(fault)
            return fault

    def take_faults(self, path: str) -> list[Fault]:
        """The faults that fire for this call (consuming one use of each counted fault)."""
        fired: list[Fault] = []
        with self.lock:
            now = self.now()
            for fault in list(self.faults):
                if fault.until is not None and now >= fault.until:
                    self.faults.remove(fault)
                    continue
                if fault.path not in (path, "*"):
                    continue
                if fault.kind != "delay" and any(f.kind != "delay" for f in fired):
                    continue
                fired.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
        return fired

    # ---- access tokens -------------------------------------------------------------

    def _new_token(self) -> str:
        token = "standin-" + secrets.token_urlsafe(48)
        self.tokens[token] = Token(expires_at=self.now() + TOKEN_LIFETIME)
        return token

    def _retire(self, token: str | None) -> None:
        if token and token in self.tokens:
            info = self.tokens[token]
            info.retires_at = min(info.expires_at, self.now() + TOKEN_GRACE)

    def check_credentials(self, appid: Any, secret: Any) -> dict[str, Any] | None:
        if not appid:
            return error(41002, "appid missing")
        if appid != self.appid:
            return error(40013, "invalid appid")
        if not secret:
            return error(41004, "appsecret missing")
        if secret != self.secret:
            return error(40125, "invalid appsecret")
        return None

    def classic_token(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            return error(40002, "invalid grant_type")
        problem = self.check_credentials(query.get("appid"), query.get("secret"))
        if problem:
            return problem
        with self.lock:
            for token, info in self.tokens.items():
                if info.retires_at is None and token != self.stable_token:
                    self._retire(token)
            token = self._new_token()
            return {"access_token": token, "expires_in": TOKEN_LIFETIME}

    def stable_token_call(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credential":
            return error(40002, "invalid grant_type")
        problem = self.check_credentials(body.get("appid"), body.get("secret"))
        if problem:
            return problem
        force = bool(body.get("force_refresh"))
        with self.lock:
            now = self.now()
            current = self.tokens.get(self.stable_token or "")
            valid = (
                current is not None
                and current.retires_at is None
                and now < current.expires_at
            )
            if force:
                day_ago = now - 86400
                self.force_refreshes = [t for t in self.force_refreshes if t > day_ago]
                # ASSUMPTION: WeChat allows 20 forced refreshes a day, 30 s apart; which
                # errcode it answers is not documented: 45009 for the day, 45011 for 30 s.
                if len(self.force_refreshes) >= 20:
                    return error(45009, "reach max api daily quota limit")
                if self.force_refreshes and now - self.force_refreshes[-1] < 30:
                    return error(
                        45011,
                        "api minute-quota reach limit, force_refresh must be 30s apart",
                    )
                self.force_refreshes.append(now)
            if force or not valid:
                self._retire(self.stable_token)
                self.stable_token = self._new_token()
                current = self.tokens[self.stable_token]
            assert self.stable_token is not None and current is not None
            # The stable endpoint reports the remaining lifetime of the token it hands out.
            return {
                "access_token": self.stable_token,
                "expires_in": max(1, int(current.expires_at - now)),
            }

    def check_token(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return error(41001, "access_token missing")
        with self.lock:
            info = self.tokens.get(token)
            now = self.now()
            if info is None:
                return error(
                    40001, "invalid credential, access_token is invalid or not latest"
                )
            if now >= info.expires_at:
                return error(42001, "access_token expired")
            if info.retires_at is not None and now >= info.retires_at:
                return error(
                    40001, "invalid credential, access_token is invalid or not latest"
                )
        return None

    # ---- login and phone codes -----------------------------------------------------

    def mint_login_code(
        self, openid: str, unionid: str | None = None, code: str | None = None
    ) -> str:
        with self.lock:
            code = code or f"code-{secrets.token_urlsafe(16)}"
            unionid = unionid if unionid is not None else f"union-{openid}"
            self.login_codes[code] = Code(
                {"openid": openid, "unionid": unionid}, created_at=self.now()
            )
            return code

    def mint_phone_code(
        self, pure_phone_number: str, country_code: str = "86", code: str | None = None
    ) -> str:
        with self.lock:
            code = code or f"phone-code-{secrets.token_urlsafe(16)}"
            self.phone_codes[code] = Code(
                {"purePhoneNumber": pure_phone_number, "countryCode": country_code},
                created_at=self.now(),
            )
            return code

    def _claim(
        self, codes: dict[str, Code], code: str, convention: Any
    ) -> tuple[Code | None, int]:
        """Look up a single-use code: (code, 0) or (None, errcode)."""
        with self.lock:
            entry = codes.get(code)
            if entry is None:
                value = convention(code)
                if value is None:
                    return None, 40029
                entry = codes[code] = Code(value, created_at=self.now())
            if entry.used:
                return None, 40163
            if self.now() - entry.created_at > CODE_LIFETIME:
                return None, 40029
            entry.used = True
            return entry, 0

    @staticmethod
    def _demo_login(code: str) -> dict[str, Any] | None:
        # DEV CONVENTION: demo-<openid>-<anything>; the openid is what lies between the
        # first two dashes.
        match = re.fullmatch(r"demo-([A-Za-z0-9_]+)-(.+)", code)
        if not match:
            return None
        return {"openid": match.group(1), "unionid": f"union-{match.group(1)}"}

    @staticmethod
    def _demo_phone(code: str) -> dict[str, Any] | None:
        match = re.fullmatch(r"phone-(\d{11})-(.+)", code)
        if not match:
            return None
        return {"purePhoneNumber": match.group(1), "countryCode": "86"}

    def jscode2session(self, query: dict[str, str]) -> dict[str, Any]:
        problem = self.check_credentials(query.get("appid"), query.get("secret"))
        if problem:
            return problem
        code = query.get("js_code")
        if not code:
            return error(41008, "missing code")
        if query.get("grant_type") != "authorization_code":
            # ASSUMPTION: the errcode for a wrong grant_type here.
            return error(40002, "invalid grant_type")
        entry, errcode = self._claim(self.login_codes, code, self._demo_login)
        if entry is None:
            if errcode == 40163:
                return error(40163, "code been used")
            return error(40029, "invalid code")
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        with self.lock:
            self.session_keys[entry.value["openid"]] = session_key
        answer = {"openid": entry.value["openid"], "session_key": session_key}
        if entry.value.get("unionid"):
            answer["unionid"] = entry.value["unionid"]
        return answer

    def phone_number(self, body: dict[str, Any]) -> dict[str, Any]:
        code = body.get("code")
        if not code or not isinstance(code, str):
            return error(47001, "data format error: code missing")
        entry, _ = self._claim(self.phone_codes, code, self._demo_phone)
        if entry is None:
            # Phone codes answer 40029 for unknown, expired and used alike.
            return error(40029, "invalid code")
        pure = entry.value["purePhoneNumber"]
        country = entry.value["countryCode"]
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                # ASSUMPTION: numbers outside +86 carry the prefix in phoneNumber.
                "phoneNumber": pure if country == "86" else f"+{country}{pure}",
                "purePhoneNumber": pure,
                "countryCode": country,
                "watermark": {"timestamp": int(self.now()), "appid": self.appid},
            },
        }

    # ---- subscribe messages --------------------------------------------------------

    def set_consent(self, openid: str, template_id: str, count: int) -> int:
        with self.lock:
            self.consents[(openid, template_id)] = max(0, int(count))
            return self.consents[(openid, template_id)]

    def add_consent(self, openid: str, template_id: str, count: int = 1) -> int:
        with self.lock:
            return self.set_consent(
                openid, template_id, self.consents.get((openid, template_id), 0) + count
            )

    def subscribe_send(self, body: dict[str, Any]) -> dict[str, Any]:
        touser = body.get("touser")
        template_id = body.get("template_id")
        data = body.get("data")
        if not isinstance(touser, str) or not OPENID_RE.match(touser):
            return error(40003, "invalid openid")
        if not isinstance(template_id, str) or not template_id:
            return error(40037, "invalid template_id")
        if not isinstance(data, dict) or not data:
            return error(47003, "argument invalid! data is empty")
        for key, value in data.items():
            if (
                not isinstance(value, dict)
                or not isinstance(value.get("value"), str)
                or not value["value"]
            ):
                return error(47003, f"argument invalid! data.{key}.value invalid")
        page = body.get("page")
        if page is not None and (
            not isinstance(page, str)
            or (
                self.published_pages is not None
                and page.split("?")[0] not in self.published_pages
            )
        ):
            return error(41030, "invalid page")
        state = body.get("miniprogram_state")
        if state is not None and state not in ("developer", "trial", "formal"):
            # ASSUMPTION: errcode for an unknown miniprogram_state.
            return error(47003, "argument invalid! miniprogram_state invalid")
        with self.lock:
            if template_id not in self.long_term_templates:
                left = self.consents.get((touser, template_id), 0)
                if left <= 0:
                    return error(43101, "user refuse to accept the msg")
                self.consents[(touser, template_id)] = left - 1
            msgid = 3_000_000_000 + self.next_id()
            self.sent_messages.append(
                {
                    "msgid": msgid,
                    "touser": touser,
                    "template_id": template_id,
                    "data": data,
                    "page": page,
                    "miniprogram_state": state,
                    "lang": body.get("lang"),
                    "at": self.now(),
                }
            )
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    # ---- content security ----------------------------------------------------------

    def text_verdict(self, text: str) -> tuple[str, int, list[dict[str, Any]]]:
        with self.lock:
            risky = [
                (w, label) for w, label in self.risky_words.items() if w and w in text
            ]
            review = [
                (w, label) for w, label in self.review_words.items() if w and w in text
            ]
        if risky:
            suggest, label = "risky", risky[0][1]
        elif review:
            suggest, label = "review", review[0][1]
        else:
            suggest, label = "pass", 100
        detail: list[dict[str, Any]] = [
            {
                "strategy": "content_model",
                "errcode": 0,
                "suggest": suggest,
                "label": label,
                "prob": 90 if label != 100 else 0,
            }
        ]
        for word, word_label in risky + review:
            detail.append(
                {
                    "strategy": "keyword",
                    "errcode": 0,
                    "suggest": "risky" if (word, word_label) in risky else "review",
                    "label": word_label,
                    "level": 20,
                    "keyword": word,
                }
            )
        return suggest, label, detail

    def msg_sec_check(self, body: dict[str, Any]) -> dict[str, Any]:
        content = body.get("content")
        if not isinstance(content, str):
            return error(47001, "data format error: content missing")
        if len(content) > 2500:
            # ASSUMPTION: errcode for content over 2500 chars.
            return error(40097, "invalid args: content too long")
        version = body.get("version")
        if version in (None, 1, "1"):
            # The retired v1 call: 87014 for risky content, 0 otherwise. Kept so that
            # a caller using wechatpy's v1 helper notices the difference.
            suggest, _, _ = self.text_verdict(content)
            return (
                error(87014, "risky content")
                if suggest == "risky"
                else {"errcode": 0, "errmsg": "ok"}
            )
        if version not in (2, "2"):
            return error(40097, "invalid args: version")
        openid = body.get("openid")
        if not isinstance(openid, str) or not OPENID_RE.match(openid):
            return error(40003, "invalid openid")
        if body.get("scene") not in (1, 2, 3, 4):
            return error(40129, "invalid scene")
        text = (
            " ".join(str(body.get(k) or "") for k in ("title", "nickname"))
            + " "
            + content
        )
        suggest, label, detail = self.text_verdict(text)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "trace_id": rid(),
            "result": {"suggest": suggest, "label": label},
            "detail": detail,
        }

    def media_verdict(self, media_url: str) -> dict[str, Any]:
        with self.lock:
            for rule in self.media_rules:
                if rule.get("match", "") in media_url:
                    return dict(rule)
        return {"suggest": "pass", "label": 100}

    def media_check_async(
        self, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The answer and, on success, the push event to deliver later."""
        media_url = body.get("media_url")
        if not isinstance(media_url, str) or not media_url:
            return error(47001, "data format error: media_url missing"), None
        if body.get("version") not in (2, "2"):
            # ASSUMPTION: v1 would answer differently; the stand-in only speaks v2.
            return error(40097, "invalid args: version"), None
        if body.get("media_type") not in (1, 2):
            return error(40097, "invalid args: media_type"), None
        openid = body.get("openid")
        if not isinstance(openid, str) or not OPENID_RE.match(openid):
            return error(40003, "invalid openid"), None
        if body.get("scene") not in (1, 2, 3, 4):
            return error(40129, "invalid scene"), None
        trace_id = rid()
        rule = self.media_verdict(media_url)
        errcode = int(rule.get("errcode", 0))
        suggest = rule.get("suggest", "pass")
        label = int(rule.get("label", 100))
        event: dict[str, Any] = {
            "ToUserName": self.push.username,
            "FromUserName": openid,
            "CreateTime": int(self.now()),
            "MsgType": "event",
            "Event": "wxa_media_check",
            "appid": self.appid,
            "trace_id": trace_id,
            "version": 2,
            "errcode": errcode,
            "errmsg": "ok" if errcode == 0 else "media download failed",
            "result": {"suggest": suggest, "label": label},
            "detail": [
                {
                    "strategy": "content_model",
                    "errcode": errcode,
                    "suggest": suggest,
                    "label": label,
                    "prob": 90,
                }
            ],
        }
        if errcode:
            # ASSUMPTION: with -1008 the verdict fields say nothing useful; WeChat sends risky/other? unknown.
            event["result"] = {"suggest": "review", "label": 21000}
            event["detail"] = [{"strategy": "content_model", "errcode": errcode}]
        with self.lock:
            self.media_checks[trace_id] = {
                "media_url": media_url,
                "openid": openid,
                "event": event,
            }
        return {"errcode": 0, "errmsg": "ok", "trace_id": trace_id}, event

    # ---- mini-program codes --------------------------------------------------------

    def unlimited_qrcode(self, body: dict[str, Any]) -> dict[str, Any] | bytes:
        scene = body.get("scene")
        if not isinstance(scene, str) or not scene:
            return error(47001, "data format error: scene missing")
        if len(scene) > 32:
            # ASSUMPTION: the brief calls this 40169 (invalid scene length).
            return error(
                40169, "invalid length for scene, or the data is not json string"
            )
        page = body.get("page")
        if page is not None:
            if not isinstance(page, str) or page.startswith("/"):
                return error(41030, "invalid page rid")
            check_path = body.get("check_path", True)
            if (
                check_path
                and self.published_pages is not None
                and page not in self.published_pages
            ):
                return error(41030, "invalid page")
        env_version = body.get("env_version", "release")
        if env_version not in ("release", "trial", "develop"):
            # ASSUMPTION: errcode for an unknown env_version.
            return error(40097, "invalid args: env_version")
        try:
            width = int(body.get("width", 430))
        except (TypeError, ValueError):
            return error(47001, "data format error: width")
        width = min(
            1280, max(280, width)
        )  # ASSUMPTION: out-of-range widths are clamped
        return make_code_png(scene=scene, page=page, width=width)

    # ---- logs ----------------------------------------------------------------------

    def log_call(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(entry)
            del self.calls[:-1000]

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "appid": self.appid,
                "now": self.now(),
                "clock_offset": self.clock_offset,
                "tokens": len(self.tokens),
                "stable_token_set": self.stable_token is not None,
                "faults": [f.as_dict() for f in self.faults],
                "consents": [
                    {"openid": o, "template_id": t, "count": c}
                    for (o, t), c in sorted(self.consents.items())
                ],
                "long_term_templates": sorted(self.long_term_templates),
                "sent_messages": len(self.sent_messages),
                "pushes": len(self.pushes),
                "calls": len(self.calls),
                "push": self.push.as_dict(),
                "published_pages": self.published_pages,
            }
