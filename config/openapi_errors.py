"""Typed errors in the OpenAPI schema (drf-spectacular postprocessing hook).

Every operation lists each error status it can answer with the one error body
`{"error": {"code", "message", "detail"}}` (core/errors.py, core/exceptions.py), and the
codes it can return at that status as an enum, with an example per code. The codes are
read from the code, never written by hand (docs/api.md):

- what the view method raises, and everything of ours it calls: actions, access helpers,
  the `@idempotent` wrapper, the WeChat adapter (core/error_scan.py);
- what the framework around the view answers: its parsers (400 `malformed_request`,
  413, 415) when it takes a body, its authentication (401 `token_*`), its permission
  classes (401 `not_authenticated`, 403 `forbidden`), its throttles (429 `rate_limited`),
  an unknown id in the path (404 `not_found`), and a database or Redis outage (503)
  anywhere (core.exceptions).

tests/core/test_openapi_errors.py and tests/conftest.py's `assert_error` hold the result
to what the API really answers: an error a test sees that its operation does not list
fails that test.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from django.conf import settings
from rest_framework.permissions import AllowAny

from core.error_scan import Code, codes_raised
from core.exceptions import _DRF_CODES
from core.project import project_apps

STATUS_TEXT = {
    400: "请求无效",
    401: "未登录或登录已失效",
    403: "没有权限",
    404: "不存在或无权查看",
    409: "状态冲突",
    410: "已删除",
    413: "内容过大",
    415: "不支持的请求内容类型",
    422: "无法处理该请求",
    429: "操作过于频繁或超出限额",
    503: "服务暂时不可用（带 Retry-After，可稍后重试）",
}
_DRF_MESSAGES = dict(_DRF_CODES.values())
# What the framework answers around any view: core.exceptions and core/views.py.
OUTAGE: dict[Code, str] = {
    (503, "database_unavailable"): "服务暂时不可用，请稍后重试",
    (503, "cache_unavailable"): "服务暂时不可用，请稍后重试",
}
BODY: dict[Code, str] = {
    (400, "malformed_request"): _DRF_MESSAGES["malformed_request"],
    (400, "invalid_input"): "输入有误",
    (400, "invalid_content_length"): "Content-Length 无效",  # core.middleware.RequestBodyLimitMiddleware
    (413, "payload_too_large"): "请求内容过大",
    (415, "unsupported_media_type"): _DRF_MESSAGES["unsupported_media_type"],
}
_ALTERNATION = re.compile(r"\(\?P<(\w+)>((?:[\w-]+\|)+[\w-]+)\)")


@cache
def our_packages() -> tuple[str, ...]:
    """The top-level packages of the project's own apps (not third-party ones: with a .venv inside
    the checkout, as in CI, counting those made the error scan read all of Django and DRF)."""
    return tuple(sorted(config.name for config in project_apps()))


def operation_errors(view_class: type, method: str, operation: dict[str, Any]) -> dict[Code, str | None]:
    """Every (status, code) the operation can answer, with a message for its example."""
    takes_body = "requestBody" in operation
    scanned: list[Any] = [getattr(view_class, method.lower(), None)]
    scanned += list(getattr(view_class, "authentication_classes", []))
    permissions = list(getattr(view_class, "permission_classes", []))
    scanned += permissions
    if takes_body:
        scanned += list(getattr(view_class, "parser_classes", []))
    errors: dict[Code, str | None] = dict(codes_raised(scanned, our_packages()))
    if takes_body:
        for key, message in BODY.items():
            errors.setdefault(key, message)
    if any(not issubclass(p, AllowAny) for p in permissions):
        errors.setdefault((401, "not_authenticated"), _DRF_MESSAGES["not_authenticated"])
    if any(p.__module__.split(".")[0] in our_packages() for p in permissions):
        errors.setdefault((403, "forbidden"), _DRF_MESSAGES["forbidden"])
    if getattr(view_class, "throttle_classes", []):
        errors.setdefault((429, "rate_limited"), _DRF_MESSAGES["rate_limited"])
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        errors.setdefault((404, "not_found"), "内容不存在")
    for key, message in OUTAGE.items():
        errors.setdefault(key, message)
    return errors


def error_response(status: int, errors: dict[str, str | None]) -> dict[str, Any]:
    codes = sorted(errors)
    response: dict[str, Any] = {
        "description": f"{STATUS_TEXT.get(status, '错误')}。error.code 取值：" + "、".join(f"`{c}`" for c in codes),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "detail"],
                            "properties": {
                                "code": {"type": "string", "enum": codes},
                                "message": {"type": "string", "description": "给用户看的中文说明"},
                                "detail": {"$ref": "#/components/schemas/ErrorDetail"},
                            },
                        }
                    },
                },
                "examples": {
                    code: {"value": {"error": {"code": code, "message": errors[code] or STATUS_TEXT.get(status, ""), "detail": {}}}}
                    for code in codes
                },
            }
        },
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {"description": "建议等待的秒数", "schema": {"type": "integer"}},
        }
    return response


ERROR_DETAIL = {
    "type": "object",
    "additionalProperties": True,
    "description": "因错误而异：输入有误时为 {fields, codes}（字段 → 错误信息 / 错误代码），其他错误给出相关的值（如 cap、max_bytes），多数为空对象",
}


def _path_choices(path_regex: str) -> dict[str, list[str]]:
    """Path parameters whose URL pattern is a fixed alternation, `(?P<action>pause|resume|cancel)`."""
    return {name: choices.split("|") for name, choices in _ALTERNATION.findall(path_regex)}


def _json_only(operation: dict[str, Any], result: dict[str, Any]) -> None:
    """An operation whose body has no file in it advertises JSON only.

    The default parsers (REST_FRAMEWORK in config/settings.py) also read multipart, and
    drf-spectacular lists every parser; a client should send JSON, so only the image upload,
    whose body is a file, is documented as multipart.
    """
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content or "multipart/form-data" not in content:
        return
    schema = content["multipart/form-data"].get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = result.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    if '"binary"' not in json.dumps(schema):
        del content["multipart/form-data"]


def add_errors(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    prefix = settings.SPECTACULAR_SETTINGS.get("SCHEMA_PATH_PREFIX", "")
    for path, path_regex, method, callback in generator.endpoints or []:
        operation = result.get("paths", {}).get(path, {}).get(method.lower())
        view_class = getattr(callback, "cls", None)
        if operation is None or view_class is None or not path.startswith(prefix):
            continue
        by_status: dict[int, dict[str, str | None]] = {}
        for (status, code), message in operation_errors(view_class, method, operation).items():
            by_status.setdefault(status, {})[code] = message
        responses = operation["responses"]
        for status in list(responses):
            if status.startswith(("4", "5")) and int(status) not in by_status:
                del responses[status]  # a hand-written error the code cannot answer
        for status, errors in sorted(by_status.items()):
            responses[str(status)] = error_response(status, errors)
        _json_only(operation, result)
        choices = _path_choices(path_regex)
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "path" and parameter["name"] in choices:
                parameter["schema"] = {"type": "string", "enum": choices[parameter["name"]]}
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorDetail"] = ERROR_DETAIL
    return result
