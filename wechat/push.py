"""The message-push (callback) protocol: signatures, safe-mode AES, JSON and XML bodies.

No Django views here: the `/wechat/callback` view calls `verify_signature` for the
GET handshake and `decrypt_and_parse` for POSTs. `encrypt_and_sign` builds a
genuine push (used by the local stand-in and by tests).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature


class PushError(Exception):
    """A push request that must be refused."""


class PushSignatureInvalid(PushError):
    """The signature (or safe-mode msg_signature, or appid) does not match: not from WeChat."""


class PushMalformed(PushError):
    """The body cannot be decrypted or parsed."""


@dataclass(frozen=True)
class SignedPush:
    """What WeChat would send: a query string dict, a body and its content type."""

    query: dict[str, str]
    body: bytes
    content_type: str


def _sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """True when `signature == sha1(sorted(token, timestamp, nonce))`."""
    if not (token and signature and timestamp and nonce):
        return False
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        return False
    return True


# Containers whose `List` children WeChat sends as one element or many (XML) —
# callers always get `event["List"]` as a list of dicts.
_LIST_CONTAINERS = (
    "SubscribeMsgPopupEvent",
    "SubscribeMsgChangeEvent",
    "SubscribeMsgSentEvent",
)


def _element_to_value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    grouped: dict[str, list[Any]] = {}
    for child in children:
        grouped.setdefault(child.tag, []).append(_element_to_value(child))
    return {
        tag: values[0] if len(values) == 1 else values
        for tag, values in grouped.items()
    }


def _parse_xml(text: str) -> dict[str, Any]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise PushMalformed(f"bad XML: {exc}") from exc
    value = _element_to_value(root)
    if not isinstance(value, dict):
        raise PushMalformed("XML root has no fields")
    return value


def _parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise PushMalformed(f"bad JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise PushMalformed("JSON body is not an object")
    return value


def _looks_like_json(text: str, content_type: str | None) -> bool:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return True
    if stripped.startswith("<"):
        return False
    return "json" in (content_type or "").lower()


def _as_int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _normalize(event: dict[str, Any]) -> dict[str, Any]:
    for container in _LIST_CONTAINERS:
        if container in event and "List" not in event:
            inner = event.pop(container)
            event["List"] = inner.get("List") if isinstance(inner, dict) else inner
    if "List" in event:
        event["List"] = [
            item for item in _as_list(event["List"]) if isinstance(item, dict)
        ]
    if event.get("Event") == "wxa_media_check":
        for key in ("version", "errcode"):
            if key in event:
                event[key] = _as_int(event[key])
        result = event.get("result")
        if isinstance(result, dict) and "label" in result:
            result["label"] = _as_int(result["label"])
        event["detail"] = _as_list(event.get("detail"))
        for item in event["detail"]:
            if isinstance(item, dict):
                for key in ("errcode", "label", "prob", "level"):
                    if key in item:
                        item[key] = _as_int(item[key])
    if "CreateTime" in event:
        event["CreateTime"] = _as_int(event["CreateTime"])
    return event


def decrypt_and_parse(
    *,
    body: bytes,
    content_type: str | None,
    query: dict[str, str],
    token: str,
    aes_key: str | None,
    appid: str,
) -> dict[str, Any]:
    """Check a POSTed push and return the event as a dict.

    Plaintext and safe mode (`encrypt_type=aes`), JSON and XML. Raises
    PushSignatureInvalid when it is not genuine, PushMalformed when it cannot be read.
    """
    if not verify_signature(
        token,
        query.get("signature", ""),
        query.get("timestamp", ""),
        query.get("nonce", ""),
    ):
        raise PushSignatureInvalid("bad signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PushMalformed("body is not UTF-8") from exc
    is_json = _looks_like_json(text, content_type)
    envelope = _parse_json(text) if is_json else _parse_xml(text)

    if query.get("encrypt_type") == "aes":
        if not aes_key:
            raise PushMalformed("encrypted push but no EncodingAESKey configured")
        encrypted = envelope.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise PushMalformed("encrypted push without Encrypt")
        try:
            crypto = WeChatCrypto(token, aes_key, appid)
            inner = crypto.decrypt_message(
                {"Encrypt": encrypted},
                query.get("msg_signature", ""),
                query["timestamp"],
                query["nonce"],
            )
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise PushSignatureInvalid("bad msg_signature or appid") from exc
        except Exception as exc:  # bad base64, padding, key length: not a WeChat push
            raise PushMalformed("cannot decrypt Encrypt") from exc
        envelope = (
            _parse_json(inner) if _looks_like_json(inner, None) else _parse_xml(inner)
        )

    return _normalize(envelope)


def _to_xml(message: dict[str, Any], root: str = "xml") -> str:
    def emit(tag: str, value: Any) -> str:
        if isinstance(value, dict):
            return (
                f"<{tag}>" + "".join(emit(k, v) for k, v in value.items()) + f"</{tag}>"
            )
        if isinstance(value, list):
            return "".join(emit(tag, item) for item in value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"<{tag}>{value}</{tag}>"
        text = str(value).replace("]]>", "]]]]><![CDATA[>")
        return f"<{tag}><![CDATA[{text}]]></{tag}>"

    return f"<{root}>" + "".join(emit(k, v) for k, v in message.items()) + f"</{root}>"


def render_message(message: dict[str, Any], fmt: str = "json") -> str:
    """Serialize an event the way WeChat does for the JSON or XML push format.

    ASSUMPTION (XML): nested objects become nested elements and lists become repeated
    elements, e.g. popup events as <SubscribeMsgPopupEvent><List>..</List><List>..</List>.
    """
    if fmt == "xml":
        if (
            message.get("Event")
            in (
                "subscribe_msg_popup_event",
                "subscribe_msg_change_event",
                "subscribe_msg_sent_event",
            )
            and "List" in message
        ):
            container = {
                "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
                "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
                "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
            }[message["Event"]]
            message = {k: v for k, v in message.items() if k != "List"} | {
                container: {"List": message["List"]}
            }
        return _to_xml(message)
    return json.dumps(message, ensure_ascii=False)


def encrypt_and_sign(
    *,
    message: dict[str, Any],
    token: str,
    aes_key: str | None,
    appid: str,
    fmt: str = "json",
    openid: str | None = None,
    to_user_name: str = "gh_standin00000",
    timestamp: str | None = None,
    nonce: str | None = None,
) -> SignedPush:
    """Build the request WeChat would POST for `message` (plaintext, or safe mode when aes_key)."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    query = {
        "signature": _sha1_sorted(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    if openid:
        query["openid"] = openid
    plaintext = render_message(message, fmt)
    content_type = "application/json" if fmt == "json" else "text/xml"
    if not aes_key:
        return SignedPush(
            query=query, body=plaintext.encode("utf-8"), content_type=content_type
        )

    crypto = WeChatCrypto(token, aes_key, appid)
    envelope_xml = crypto.encrypt_message(plaintext, nonce, timestamp)
    encrypted = _parse_xml(envelope_xml)["Encrypt"]
    query["encrypt_type"] = "aes"
    query["msg_signature"] = _sha1_sorted(token, timestamp, nonce, encrypted)
    envelope = {"ToUserName": to_user_name, "Encrypt": encrypted}
    body = json.dumps(envelope) if fmt == "json" else _to_xml(envelope)
    return SignedPush(query=query, body=body.encode("utf-8"), content_type=content_type)
