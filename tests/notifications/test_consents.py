"""Consents: what the mini-program reports and what WeChat pushes, each accept counted once."""

from __future__ import annotations

from django.conf import settings

from notifications.models import ConsentGrant, SubscribeConsent
from tests import factories as f
from tests.conftest import assert_error
from tests.notifications.conftest import TEMPLATE_ID
from wechat.push import encrypt_and_sign

URL = "/api/v1/notifications/consents"


def remaining(user, template_id: str = TEMPLATE_ID) -> int:
    row = SubscribeConsent.objects.filter(user=user, template_id=template_id).first()
    return row.remaining if row else 0


def push(client, message: dict, *, aes: bool = True, fmt: str = "json", signed=None):
    signed = signed or encrypt_and_sign(
        message=message,
        token=settings.WECHAT_PUSH_TOKEN,
        aes_key=settings.WECHAT_PUSH_AES_KEY if aes else None,
        appid=settings.WECHAT_APPID,
        fmt=fmt,
        openid=message.get("FromUserName"),
    )
    query = "&".join(f"{k}={v}" for k, v in signed.query.items())
    return client.generic("POST", f"/wechat/callback?{query}", signed.body, content_type=signed.content_type), signed


def popup(user, template_id: str = TEMPLATE_ID, status: str = "accept", create_time: int = 1764200000) -> dict:
    return {
        "ToUserName": "gh_standin00000",
        "FromUserName": user.openid,
        "CreateTime": create_time,
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "List": [{"TemplateId": template_id, "SubscribeStatusString": status, "PopupScene": "0"}],
    }


def test_client_reports_accept_and_reject(api_for, db):
    user = f.UserFactory()
    response = api_for(user).post(URL, {"results": {TEMPLATE_ID: "accept", "tpl-other": "reject"}})
    assert response.status_code == 200, response.content
    counts = {c["template_id"]: c["remaining"] for c in response.json()["consents"]}
    assert counts == {TEMPLATE_ID: 1, "tpl-other": 0}
    api_for(user).post(URL, {"results": {TEMPLATE_ID: "accept"}})
    assert remaining(user) == 2


def test_malformed_consent_report_is_refused_and_changes_nothing(api_for, db):
    user = f.UserFactory()
    for body in ({"results": {TEMPLATE_ID: "maybe"}}, {"results": {}}, {"results": "accept"}, {}):
        assert_error(api_for(user).post(URL, body), 400, "invalid_input")
    assert not SubscribeConsent.objects.exists()


def test_anonymous_cannot_report_consents(anon, db):
    assert_error(anon.post(URL, {"results": {TEMPLATE_ID: "accept"}}), 401)


def test_double_submit_with_idempotency_key_counts_once(api_for, db):
    user = f.UserFactory()
    api = api_for(user)
    for _ in range(2):
        response = api.post(URL, {"results": {TEMPLATE_ID: "accept"}}, headers={"Idempotency-Key": "popup-1"})
        assert response.status_code == 200
    assert remaining(user) == 1
    assert ConsentGrant.objects.count() == 1


def test_ban_sets_the_count_to_zero(api_for, db):
    user = f.UserFactory()
    SubscribeConsent.objects.create(user=user, template_id=TEMPLATE_ID, remaining=3)
    api_for(user).post(URL, {"results": {TEMPLATE_ID: "ban"}})
    assert remaining(user) == 0


def test_safe_mode_popup_push_counts_once_even_if_delivered_twice(client, db):
    user = f.UserFactory()
    response, signed = push(client, popup(user))
    assert response.status_code == 200 and response.content == b"success"
    again, _ = push(client, popup(user), signed=signed)  # WeChat retries the very same request
    assert again.status_code == 200
    assert remaining(user) == 1


def test_xml_plaintext_popup_push_counts(client, db):
    user = f.UserFactory()
    response, _ = push(client, popup(user), aes=False, fmt="xml")
    assert response.status_code == 200, response.content
    assert remaining(user) == 1


def test_client_report_and_push_for_the_same_tap_count_once(api_for, client, db):
    user = f.UserFactory()
    api_for(user).post(URL, {"results": {TEMPLATE_ID: "accept"}})
    push(client, popup(user))
    assert remaining(user) == 1
    # A second tap later is a second consent, however it is reported.
    push(client, popup(user, create_time=1764200100))
    api_for(user).post(URL, {"results": {TEMPLATE_ID: "accept"}})
    assert remaining(user) == 2


def test_change_event_turning_template_off_zeroes_the_count(client, db):
    user = f.UserFactory()
    SubscribeConsent.objects.create(user=user, template_id=TEMPLATE_ID, remaining=4)
    message = popup(user, status="reject") | {"Event": "subscribe_msg_change_event"}
    response, _ = push(client, message)
    assert response.status_code == 200
    assert remaining(user) == 0


def test_popup_push_from_the_standin_counts(wechat_standin, live_server, db):
    user = f.UserFactory()
    wechat_standin.control(
        "POST", "push-config",
        {"url": live_server.url + "/wechat/callback", "token": settings.WECHAT_PUSH_TOKEN,
         "aes_key": settings.WECHAT_PUSH_AES_KEY, "appid": settings.WECHAT_APPID, "format": "xml"},
    )
    result = wechat_standin.control("POST", "consents/accept", {"openid": user.openid, "template_ids": [TEMPLATE_ID], "push": True})
    assert result["counts"] == {TEMPLATE_ID: 1}
    assert remaining(user) == 1
