"""Subscribe-message templates for the kinds the apps send (demo template ids: the stand-in accepts any).

In production an operator replaces the ids with the ones chosen in the mini-program admin
(订阅消息 → 我的模板), in the Django admin or through settings.NOTIFICATION_TEMPLATES.
"""

from __future__ import annotations

from notifications.models import SubscribeTemplate

# kind: (name, template id, fields, fallback page, long_term). Each field reads what the sending action
# puts in the notification's `data` (docs/notifications.md has the table); the page the notification
# names (the object, with its id) wins over the fallback.
DEMO_TEMPLATES = {
    "membership_approved": ("入驻审核结果", "demo-tpl-membership-result", {"thing1": "data.neighborhood_name", "phrase2": "=已通过", "time3": "created_at"}, "pages/home/index", False),
    "membership_rejected": ("入驻审核结果", "demo-tpl-membership-result", {"thing1": "data.neighborhood_name", "phrase2": "=未通过", "thing4": "data.reason", "time3": "created_at"}, "pages/me/membership", False),
    "party_identity_verified": ("党员身份认证结果", "demo-tpl-party-identity", {"thing1": "data.neighborhood_name", "phrase2": "=已认证", "time3": "created_at"}, "pages/me/party-identity", False),
    "party_identity_rejected": ("党员身份认证结果", "demo-tpl-party-identity", {"thing1": "data.neighborhood_name", "phrase2": "=未通过", "thing4": "data.reason", "time3": "created_at"}, "pages/me/party-identity", False),
    "service_request_new": ("新服务申请提醒", "demo-tpl-service-new", {"thing1": "data.service_name", "thing2": "data.neighborhood_name", "time3": "data.accept_due_at"}, "pages/services/detail", False),
    "service_request_status": ("服务进度通知", "demo-tpl-service-status", {"thing1": "data.service_name", "phrase2": "data.status_label", "thing3": "body", "time4": "created_at"}, "pages/services/detail", False),
    "service_request_assigned": ("服务派单提醒", "demo-tpl-service-assigned", {"thing1": "data.service_name", "thing2": "data.neighborhood_name", "time3": "data.complete_due_at"}, "pages/services/detail", False),
    "service_request_overdue": ("服务超时提醒", "demo-tpl-service-overdue", {"thing1": "data.service_name", "thing2": "data.neighborhood_name", "phrase3": "data.overdue_label", "time4": "data.due_at"}, "pages/services/detail", False),
    "case_assigned": ("新诉求待办提醒", "demo-tpl-case-new", {"thing1": "body", "thing2": "title", "time3": "data.due_at"}, "pages/matters/detail", False),
    "case_overdue": ("诉求超时提醒", "demo-tpl-case-overdue", {"thing1": "body", "thing2": "data.unit", "phrase3": "data.overdue_label", "time4": "data.due_at"}, "pages/matters/detail", False),
    "case_update": ("诉求进展通知", "demo-tpl-case-update", {"thing1": "data.label", "phrase2": "data.status_label", "thing3": "body", "time4": "created_at"}, "pages/matters/detail", False),
    "sensor_alert_leader": ("楼组告警提醒", "demo-tpl-sensor-leader", {"thing1": "data.label", "thing2": "data.building_group", "time3": "data.at"}, "pages/sensors/alert", False),
    "topic_update": ("议事进展通知", "demo-tpl-topic-update", {"thing1": "data.topic_title", "phrase2": "data.stage_label", "thing3": "body", "time4": "created_at"}, "pages/topics/detail", False),
    "post_answered": ("帖子回复通知", "demo-tpl-post-answered", {"thing1": "data.post_title", "thing2": "body", "time3": "created_at"}, "pages/post/detail", False),
    "post_moderated": ("内容审核结果", "demo-tpl-post-moderated", {"thing1": "data.post_title", "phrase2": "data.result_label", "thing3": "body"}, "pages/post/detail", False),
}


def seed(stdout) -> None:
    for kind, (name, template_id, fields, page, long_term) in DEMO_TEMPLATES.items():
        SubscribeTemplate.objects.update_or_create(
            kind=kind,
            defaults={"name": name, "template_id": template_id, "fields": fields, "page": page, "long_term": long_term},
        )
    stdout.write(f"订阅消息模板：{len(DEMO_TEMPLATES)} 个")
