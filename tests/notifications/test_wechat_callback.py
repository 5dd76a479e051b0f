"""/wechat/callback: only genuine pushes are processed."""

from __future__ import annotations

import hashlib

from django.conf import settings

from notifications.models import SubscribeConsent
from tests import factories as f
from tests.conftest import assert_error
from tests.notifications.test_consents import popup, push
from wechat.push import encrypt_and_sign
from wechat.signals import push_received


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def test_echostr_handshake_answers_echostr(client):
    signature = _sign(settings.WECHAT_PUSH_TOKEN, "1714036504", "1514711492")
    response = client.get("/wechat/callback", {"signature": signature, "timestamp": "1714036504", "nonce": "1514711492", "echostr": "hello123"})
    assert response.status_code == 200 and response.content == b"hello123"


def test_echostr_handshake_with_wrong_signature_is_refused(client):
    response = client.get("/wechat/callback", {"signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "x"})
    assert_error(response, 403, "push_signature_invalid")


def test_forged_push_is_refused_and_nothing_processed(client, db):
    user = f.UserFactory()
    genuine = encrypt_and_sign(message=popup(user), token="not-our-token", aes_key=None, appid=settings.WECHAT_APPID)
    response, _ = push(client, popup(user), signed=genuine)
    assert_error(response, 403, "push_signature_invalid")
    assert not SubscribeConsent.objects.exists()


def test_safe_mode_push_with_tampered_ciphertext_is_refused(client, db):
    user = f.UserFactory()
    signed = encrypt_and_sign(
        message=popup(user), token=settings.WECHAT_PUSH_TOKEN, aes_key=settings.WECHAT_PUSH_AES_KEY, appid=settings.WECHAT_APPID
    )
    tampered = type(signed)(query=signed.query, body=signed.body.replace(b'"Encrypt": "', b'"Encrypt": "AAAA'), content_type=signed.content_type)
    response, _ = push(client, popup(user), signed=tampered)
    assert response.status_code in (400, 403)
    assert not SubscribeConsent.objects.exists()


def test_unknown_event_is_answered_success(client, db):
    seen = []

    def receiver(sender, event, message, **kwargs):
        seen.append(event)

    push_received.connect(receiver)
    try:
        response, _ = push(client, {"ToUserName": "gh", "FromUserName": "x", "CreateTime": 1, "MsgType": "event", "Event": "something_new"})
    finally:
        push_received.disconnect(receiver)
    assert response.status_code == 200 and response.content == b"success"
    assert seen == ["something_new"]


def test_plaintext_json_push_reaches_receivers(client, db):
    user = f.UserFactory()
    response, _ = push(client, popup(user), aes=False)
    assert response.status_code == 200
    assert SubscribeConsent.objects.get(user=user).remaining == 1
