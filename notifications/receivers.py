"""Consent pushes from WeChat (connected in NotificationsConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model

from notifications.actions import do_record_consent_results, do_turn_off_consents
from notifications.models import ConsentGrant

logger = logging.getLogger(__name__)


def _user_for(message: dict[str, Any]):
    openid = message.get("FromUserName")
    if not openid:
        return None
    return get_user_model().objects.filter(openid=openid).first()


def on_push(sender: Any, event: str = "", message: dict[str, Any] | None = None, **kwargs: Any) -> None:
    message = message or {}
    if event == "subscribe_msg_popup_event":
        user = _user_for(message)
        if user is None:
            return
        results = {
            str(item.get("TemplateId")): str(item.get("SubscribeStatusString", ""))
            for item in message.get("List", [])
            if item.get("TemplateId")
        }
        # WeChat retries a push with the same sender and CreateTime; that pair names this push.
        do_record_consent_results(
            actor=user,
            results={t: r for t, r in results.items() if r in ("accept", "reject", "ban", "filter")},
            source=ConsentGrant.Source.PUSH,
            dedupe_key_prefix=f"popup:{message.get('FromUserName')}:{message.get('CreateTime')}",
        )
    elif event == "subscribe_msg_change_event":
        user = _user_for(message)
        if user is None:
            return
        # Setting the count to zero is idempotent on its own: no dedupe needed.
        off = [
            str(item.get("TemplateId"))
            for item in message.get("List", [])
            if item.get("TemplateId") and item.get("SubscribeStatusString") == "reject"
        ]
        do_turn_off_consents(actor=user, template_ids=off)
