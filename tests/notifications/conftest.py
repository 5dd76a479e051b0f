"""Helpers for the notification tests: a template, consents, and a clock for the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.actions import do_notify
from notifications.models import SubscribeConsent, SubscribeTemplate

TEMPLATE_ID = "tpl-service-status"


@pytest.fixture
def template(db):
    return SubscribeTemplate.objects.create(
        kind="service_request_status",
        name="服务进度通知",
        template_id=TEMPLATE_ID,
        fields={"thing1": "title", "phrase2": "data.status_label", "time3": "created_at"},
        page="pages/services/detail",
    )


def give_consents(user, count: int, standin=None, template_id: str = TEMPLATE_ID) -> None:
    """The user accepted `count` times: in our count and (when given) in the stand-in's."""
    SubscribeConsent.objects.update_or_create(user=user, template_id=template_id, defaults={"remaining": count})
    if standin is not None:
        standin.control("POST", "consents", {"openid": user.openid, "template_id": template_id, "count": count})


def notify(user, n: int, *, kind: str = "service_request_status") -> None:
    do_notify(
        recipients=[user], kind=kind, title=f"您的服务申请有新进展{n}", body="已受理",
        data={"status_label": "已受理"}, event_key=f"test:{n}",
    )


class Clock:
    """Our side of simulated time, moved together with the stand-in's clock."""

    def __init__(self, standin=None) -> None:
        self.now = timezone.now()
        self.standin = standin

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        if self.standin is not None:
            self.standin.control("POST", "clock", {"advance": seconds})
