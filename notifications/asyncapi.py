"""The AsyncAPI 3.0 document of `WS /ws/v1/`, served at `/api/asyncapi.json` beside the
OpenAPI one (docs/notifications.md, "Live updates").

Built from the code each time, so it cannot drift from it: the stream prefixes from the
stream registry (notifications/streams.py), the event types from notifications/event_types.py
(which tests/notifications/test_asyncapi.py holds to what the code publishes), the close codes
and error codes from what the consumer (notifications/consumers.py) sends, and the token's
error codes from what residents/auth.py raises (core/error_scan.py).
"""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from core.error_scan import codes_raised
from notifications import consumers, streams
from notifications.event_types import EVENT_TYPES
from residents.auth import authenticate_token, reauthenticate_token

CLOSE_MEANINGS = {
    consumers.CLOSE_UNAUTHENTICATED: (
        "登录凭证缺失、无效或已过期，或会话已结束（退出登录、停用、注销）。关闭前先发一个 error 帧说明原因；"
        "客户端须重新登录，不要用同一令牌重连"
    ),
    consumers.CLOSE_BAD_MESSAGE: "消息格式错误",
    consumers.CLOSE_TRY_AGAIN_LATER: (
        "服务器正在为太多连接核验身份（如重启后大家同时重连）。关闭前先发 server_busy 错误帧；"
        "客户端稍等（退避，如 1–8 秒随机）后用同一令牌重连"
    ),
}


def _consumer_tree() -> ast.Module:
    return ast.parse(inspect.getsource(consumers))


def close_codes() -> list[int]:
    """The close codes the consumer sends: `CLOSE_*` constants it passes to a call."""
    used = set()
    for node in ast.walk(_consumer_tree()):
        if isinstance(node, ast.Call):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Name) and arg.id.startswith("CLOSE_"):
                    used.add(getattr(consumers, arg.id))
    return sorted(used)


def frame_error_codes() -> list[str]:
    """Codes of the consumer's error frames: literals it hands to `error_body` or `_refuse`,
    and the token codes residents.auth raises (what `_refuse_token` forwards)."""
    codes = {code for status, code in codes_raised([authenticate_token, reauthenticate_token], ["residents", "core"])}
    for node in ast.walk(_consumer_tree()):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        position = {"error_body": 0, "_refuse": 1}.get(name)
        if position is not None and len(node.args) > position:
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes.add(arg.value)
    return sorted(codes)


def _stream_schema() -> dict[str, Any]:
    prefixes = streams.registered_prefixes()
    return {
        "type": "string",
        "pattern": "^(" + "|".join(re.escape(p) for p in prefixes) + r")\.[A-Za-z0-9_-]+$",
        "description": "频道：<前缀>.<编号>，如 neighborhood.12。前缀：" + "、".join(prefixes),
        "x-stream-prefixes": prefixes,
        "examples": ["neighborhood.12", "user.7", "staff.street.3"],
    }


def _event_schema(event_type: str, prefixes: tuple[str, ...], meaning: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": event_type,
        "description": f"{meaning}。频道：" + "、".join(f"{p}.<id>" for p in prefixes),
        "required": ["id", "stream", "type", "payload"],
        "properties": {
            "id": {"type": "integer", "description": "事件编号，断线后从 GET /api/v1/events?since= 补拉"},
            "stream": {"$ref": "#/components/schemas/Stream"},
            "type": {"type": "string", "const": event_type},
            "payload": {"type": "object", "additionalProperties": True, "description": "只含编号与状态等少量字段；详情请走 HTTP 接口读取"},
        },
        "x-streams": list(prefixes),
    }


def _message(name: str, title: str, payload: dict[str, Any], summary: str) -> dict[str, Any]:
    return {"name": name, "title": title, "summary": summary, "contentType": "application/json", "payload": payload}


def document() -> dict[str, Any]:
    codes = close_codes()
    errors = frame_error_codes()
    string = {"type": "string"}
    messages = {
        "subscribe": _message(
            "subscribe", "订阅", {
                "type": "object", "required": ["action", "stream"],
                "properties": {"action": {"type": "string", "const": "subscribe"}, "stream": {"$ref": "#/components/schemas/Stream"}},
            }, f"订阅一个频道（每个连接最多 {consumers.MAX_STREAMS} 个）",
        ),
        "unsubscribe": _message(
            "unsubscribe", "取消订阅", {
                "type": "object", "required": ["action", "stream"],
                "properties": {"action": {"type": "string", "const": "unsubscribe"}, "stream": {"$ref": "#/components/schemas/Stream"}},
            }, "取消订阅一个频道",
        ),
        "subscribed": _message(
            "subscribed", "已订阅", {
                "type": "object", "required": ["type", "stream", "last_id"],
                "properties": {
                    "type": {"type": "string", "const": "subscribed"}, "stream": {"$ref": "#/components/schemas/Stream"},
                    "last_id": {"type": ["integer", "null"], "description": "补拉起点：GET /api/v1/events?stream=…&since=<last_id>"},
                },
            }, "订阅成功；last_id 之后提交的事件实时送达，之前的从 /api/v1/events 补拉",
        ),
        "unsubscribed": _message(
            "unsubscribed", "已取消订阅", {
                "type": "object", "required": ["type", "stream"],
                "properties": {"type": {"type": "string", "const": "unsubscribed"}, "stream": {"$ref": "#/components/schemas/Stream"}},
            }, "取消订阅成功",
        ),
        "event": _message(
            "event", "事件", {"oneOf": [{"$ref": f"#/components/schemas/{_schema_name(t)}"} for t in EVENT_TYPES]},
            "频道上的一个事件（同一事件也写入 /api/v1/events）",
        ),
        "subscriptionEnded": _message(
            "subscription_ended", "订阅结束", {
                "type": "object", "required": ["type", "stream", "reason"],
                "properties": {
                    "type": {"type": "string", "const": "subscription_ended"}, "stream": {"$ref": "#/components/schemas/Stream"},
                    "reason": {"type": "string", "enum": ["membership_ended", "role_revoked", "access_changed"]},
                },
            }, "居民身份或角色结束，该频道不再推送；连接和其他频道保持",
        ),
        "error": _message(
            "error", "错误", {
                "type": "object", "required": ["error"],
                "properties": {"error": {
                    "type": "object", "required": ["code", "message", "detail"],
                    "properties": {"code": {"type": "string", "enum": errors}, "message": string, "detail": {"type": "object"}},
                }},
            }, "错误帧。stream_not_found / too_many_streams / invalid_message 后连接保持；其余之后以 4401 关闭",
        ),
    }
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    close_lines = "\n".join(f"- **{code}**：{CLOSE_MEANINGS.get(code, '')}" for code in codes)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "社区通实时事件（WebSocket）",
            "version": settings.SPECTACULAR_SETTINGS.get("VERSION", "1.0.0"),
            "description": (
                "连接 `/ws/v1/?token=<访问令牌>`，或以子协议 `[\"bearer\", \"<访问令牌>\"]` 传令牌（服务端选择 bearer）。"
                "发送 subscribe / unsubscribe；接收 subscribed、事件、subscription_ended 与错误帧。"
                "断线或漏收后以 subscribed 的 last_id（或最后收到的事件 id）调用 "
                "`GET /api/v1/events?stream=…&since=<id>` 补拉（OpenAPI：/api/schema/）。\n\n"
                "握手被拒：服务器繁忙时（如重启后大家同时重连）直接以 HTTP 503 应答握手，带 Retry-After 与 "
                "server_busy 错误体，不升级为 WebSocket；客户端稍等（退避，如 1–8 秒随机）后用同一令牌重连。"
                "不支持该应答的服务器改为先发 server_busy 错误帧再以 1013 关闭。\n\n关闭码：\n" + close_lines
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "api": {
                "host": "{host}", "protocol": "wss", "pathname": "/ws/v1/",
                "variables": {"host": {"default": "127.0.0.1:8000", "description": "部署的域名（开发环境为 ws://127.0.0.1:8000）"}},
                "security": [{"$ref": "#/components/securitySchemes/queryToken"}, {"$ref": "#/components/securitySchemes/subprotocolToken"}],
            }
        },
        "channels": {
            "events": {
                "address": "/ws/v1/",
                "title": "实时事件",
                "messages": channel_messages,
                "bindings": {"ws": {"query": {"type": "object", "properties": {"token": {"type": "string", "description": "访问令牌"}}}}},
            }
        },
        "operations": {
            "subscribe": _operation("send", ["subscribe"], "订阅频道"),
            "unsubscribe": _operation("send", ["unsubscribe"], "取消订阅"),
            "receiveAcks": _operation("receive", ["subscribed", "unsubscribed"], "订阅 / 取消订阅的回执"),
            "receiveEvents": _operation("receive", ["event"], "接收事件"),
            "receiveSubscriptionEnded": _operation("receive", ["subscriptionEnded"], "订阅被结束"),
            "receiveErrors": _operation("receive", ["error"], "接收错误帧"),
        },
        "components": {
            "schemas": {
                "Stream": _stream_schema(),
                **{_schema_name(t): _event_schema(t, prefixes, meaning) for t, (prefixes, meaning) in EVENT_TYPES.items()},
            },
            "messages": messages,
            "securitySchemes": {
                "queryToken": {"type": "httpApiKey", "name": "token", "in": "query", "description": "POST /api/v1/auth/wechat 返回的 token"},
                "subprotocolToken": {"type": "httpApiKey", "name": "Sec-WebSocket-Protocol", "in": "header",
                                     "description": "子协议 [\"bearer\", \"<token>\"]"},
            },
        },
        "x-close-codes": [{"code": code, "description": CLOSE_MEANINGS.get(code, "")} for code in codes],
        "x-event-types": list(EVENT_TYPES),
    }


def _schema_name(event_type: str) -> str:
    return "Event_" + event_type.replace(".", "_")


def _operation(action: str, names: list[str], title: str) -> dict[str, Any]:
    return {
        "action": action, "title": title, "channel": {"$ref": "#/channels/events"},
        "messages": [{"$ref": f"#/channels/events/messages/{name}"} for name in names],
    }


@require_GET
def asyncapi_view(request):
    """GET /api/asyncapi.json: public, like /api/schema/."""
    return JsonResponse(document(), json_dumps_params={"ensure_ascii": False, "indent": 2})
