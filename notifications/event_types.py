"""The realtime event types, with the streams they go out on: what the AsyncAPI document
(notifications/asyncapi.py) lists for `WS /ws/v1/` and `GET /api/v1/events`.

An app that publishes a new type (`notifications.realtime.publish_on_commit(stream, type,
payload)`) adds a line here; tests/notifications/test_asyncapi.py reads the code for every
type it publishes and fails on one missing here (or listed here and never published).
"""

from __future__ import annotations

# type → (stream prefixes it is published on, what it means)
EVENT_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "post.created": (("neighborhood",), "新帖，或帖子重新可见（payload: post_id, section, status）"),
    "post.updated": (("neighborhood",), "帖子被修改或恢复（payload: post_id, section, status）"),
    "post.hidden": (("neighborhood",), "帖子不再可见（payload: post_id, reason: edited_pending_check | deleted | reports | 管理操作）"),
    "comment.created": (("neighborhood",), "新评论（payload: post_id, comment_id, is_official）"),
    "post.answer_overdue": (("staff.neighborhood", "staff.street"), "居民帖子超时未回应（发帖必响应）"),
    "service_request.created": (("staff.neighborhood", "staff.street"), "新的一键服务工单（派单看板）"),
    "service_request.updated": (("staff.neighborhood", "staff.street"), "工单状态或内容变化（派单看板）"),
    "service_request.overdue": (("staff.neighborhood", "staff.street"), "工单超时"),
    "service_request.status_changed": (("user",), "我的工单状态变化"),
    "service_plan.created": (("staff.neighborhood", "staff.street"), "新的定期服务"),
    "service_plan.updated": (("staff.neighborhood",), "定期服务暂停 / 恢复 / 取消（payload: plan_id, status, occurrences_changed）"),
    "membership.applied": (("staff.neighborhood",), "新的入驻申请（payload: membership_id）"),
    "membership.decided": (("staff.neighborhood",), "入驻申请已审核（payload: membership_id, status）"),
    "party_identity.requested": (("staff.neighborhood",), "新的亮身份申请（payload: request_id）"),
    "notification.created": (("user",), "新消息（payload: notification_id, kind, title, page）"),
    "notification.read": (("user",), "消息已读（payload: notification_ids 或 all）"),
    "topic.created": (("neighborhood", "topic"), "新议题或议题重新可见"),
    "topic.updated": (("neighborhood", "topic"), "议题被修改"),
    "topic.hidden": (("neighborhood", "topic"), "议题不再可见（payload: reason）"),
    "topic.status_changed": (("neighborhood", "topic"), "议题阶段变化（payload: from, to, event_id）"),
    "topic.supported": (("neighborhood", "topic"), "附议户数变化（payload: supports）"),
    "topic.replied": (("neighborhood", "topic"), "新的讨论回复（payload: reply_id, official）"),
    "topic.reply_hidden": (("neighborhood", "topic"), "回复被隐藏（payload: reply_id, reason）"),
    "topic.milestone_updated": (("neighborhood", "topic"), "实施进度更新（payload: milestone_id, progress）"),
    "topic.decided": (("neighborhood",), "表决结束（payload: topic_id, outcome, building_group_id）"),
    "case.created": (("unit", "staff.neighborhood", "staff.street", "user"), "新诉求/服务/告警案件（payload: case_id, case_kind, matter_id? / service_request_id?, event_id, event, status, unit_id, supervising_unit_id, due_at）"),
    "case.transferred": (("unit", "staff.neighborhood", "staff.street", "user"), "案件转办（payload 同 case.created）"),
    "case.accepted": (("unit", "staff.neighborhood", "staff.street", "user"), "案件已受理"),
    "case.resolved": (("unit", "staff.neighborhood", "staff.street", "user"), "案件已答复"),
    "case.escalated": (("unit", "staff.neighborhood", "staff.street", "user"), "案件超时上报"),
    "case.joint_requested": (("unit", "staff.neighborhood", "staff.street", "user"), "请求会办"),
}
