"""Request examples on the operations a mini-program calls first (drf-spectacular
postprocessing hook): login, a feed post, a one-tap service request, a matter.

Named by operationId like config/openapi_links.py; tests/core/test_openapi_errors.py holds
each example to its operation's request schema (no unknown field, every required one), so
a renamed field or operation fails a test instead of leaving a stale example. Error
examples, one per code, are written by config/openapi_errors.py.
"""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "auth_wechat_create": {
        "login": {"summary": "wx.login() 得到的 code 换取令牌", "value": {"code": "0a3Xkz000abcdEFGH1234", "nickname": "张三"}},
    },
    "posts_create": {
        "post": {
            "summary": "居民在本居委/村发帖",
            "value": {"neighborhood_id": 12, "section": "neighbors", "title": "3号楼电梯又停了", "body": "从早上停到现在，老人上下楼不方便。", "image_ids": [801, 802]},
        },
    },
    "service_requests_create": {
        "one_tap": {"summary": "一键申请：为自己", "value": {"item": 5}},
        "for_elder": {
            "summary": "为家里老人预约助餐",
            "value": {"item": 7, "beneficiary": 3, "scheduled_for": "2026-12-03T11:00:00+08:00", "note": "少盐"},
        },
    },
    "matters_create": {
        "matter": {
            "summary": "一键表达：带位置和照片",
            "value": {"item": 21, "text": "小区门口路灯坏了一周", "place": "宝林一村南门", "latitude": "31.405120", "longitude": "121.489310", "photos": [901]},
        },
    },
}


def add_examples(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    for item in result.get("paths", {}).values():
        for operation in item.values():
            examples = EXAMPLES.get(operation.get("operationId")) if isinstance(operation, dict) else None
            content = operation.get("requestBody", {}).get("content", {}).get("application/json") if examples else None
            if content is not None:
                content["examples"] = examples
    return result
