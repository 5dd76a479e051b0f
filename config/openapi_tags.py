"""Tags of the OpenAPI schema: one naming scheme, with a Chinese name for each
(drf-spectacular postprocessing hook).

Tags are English, lower-case and kebab-case: what drf-spectacular derives from the path
(`/api/v1/service-plans/…` → `service-plans`), or a view's `tags=[…]` where several
paths form one group (`topics`, `me`). Each tag has a line below, which Swagger UI shows
beside it; tests/core/test_openapi_errors.py fails on a tag outside the scheme or without
a line here, so a new app's paths (docs/api.md) come with their description.
"""

from __future__ import annotations

import re
from typing import Any

TAG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

TAGS: dict[str, str] = {
    "auth": "登录与退出",
    "me": "我的：资料、手机号、个人信息授权、导出与注销",
    "regions": "区域（区、街道、居委/村、楼组）",
    "memberships": "居民身份（加入家庭、审核）",
    "party-identity": "亮身份（党员身份认证）",
    "roles": "角色（版主、楼组长、工作人员）",
    "beneficiaries": "服务对象（代为申请的老人）",
    "notifications": "消息与订阅消息授权",
    "events": "实时事件补拉（WebSocket 断线后）",
    "community": "社区通栏目",
    "neighborhoods": "居委/村的信息流与禁言",
    "posts": "社区通帖子",
    "comments": "帖子评论",
    "images": "图片上传",
    "moderation": "内容管理队列",
    "service-catalog": "服务目录",
    "service-requests": "一键服务工单",
    "service-plans": "定期服务",
    "service-stats": "服务满意度统计",
    "topics": "议事厅",
    "matters": "一键表达（诉求）",
    "cases": "案件总台（诉求与为老服务案件，工作人员与责任单位）",
    "sensors": "物联感知（设备推送、告警处置、设备导入）",
    "bench": "基准测试（仅 BENCH=true）",
}


def add_tags(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    used = {tag for item in result.get("paths", {}).values() for op in item.values() if isinstance(op, dict) for tag in op.get("tags", [])}
    result["tags"] = [{"name": name, "description": description} for name, description in TAGS.items() if name in used]
    result["tags"] += [{"name": name} for name in sorted(used - set(TAGS))]
    return result
