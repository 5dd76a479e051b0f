"""Subscribe-message templates for the kinds the apps send (demo template ids: the stand-in accepts any).

In production an operator replaces the ids with the ones chosen in the mini-program admin
(订阅消息 → 我的模板), in the Django admin or through settings.NOTIFICATION_TEMPLATES.
"""

from __future__ import annotations

from notifications.models import SubscribeTemplate

# kind: (name, template id, fields, page, long_term)
DEMO_TEMPLATES = {
    "membership_approved": ("入驻审核结果", "demo-tpl-membership-result", {"thing1": "title", "phrase2": "=已通过", "time3": "created_at"}, "pages/home/index", False),
    "membership_rejected": ("入驻审核结果", "demo-tpl-membership-result", {"thing1": "title", "phrase2": "=未通过", "thing4": "body", "time3": "created_at"}, "pages/me/membership", False),
    "party_identity_verified": ("党员身份认证结果", "demo-tpl-party-identity", {"thing1": "title", "phrase2": "=已认证", "time3": "created_at"}, "pages/me/index", False),
    "service_request_status": ("服务进度通知", "demo-tpl-service-status", {"thing1": "data.service_name", "phrase2": "data.status_label", "thing3": "body", "time4": "created_at"}, "pages/services/detail", False),
    "service_request_assigned": ("服务派单提醒", "demo-tpl-service-assigned", {"thing1": "data.service_name", "thing2": "data.address_hint", "time3": "created_at"}, "pages/services/detail", False),
    "topic_update": ("议事进展通知", "demo-tpl-topic-update", {"thing1": "data.topic_title", "phrase2": "data.stage_label", "thing3": "body", "time4": "created_at"}, "pages/topics/detail", False),
    "post_moderated": ("内容审核结果", "demo-tpl-post-moderated", {"thing1": "title", "phrase2": "data.result_label", "thing3": "body"}, "pages/feed/index", False),
}


def seed(stdout) -> None:
    for kind, (name, template_id, fields, page, long_term) in DEMO_TEMPLATES.items():
        SubscribeTemplate.objects.update_or_create(
            kind=kind,
            defaults={"name": name, "template_id": template_id, "fields": fields, "page": page, "long_term": long_term},
        )
    stdout.write(f"订阅消息模板：{len(DEMO_TEMPLATES)} 个")
