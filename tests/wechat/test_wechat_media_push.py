"""mediaCheckAsync end to end: the stand-in pushes a signed verdict that push.py reads."""

from __future__ import annotations

import pytest

from wechat import client
from wechat.push import PushSignatureInvalid, decrypt_and_parse

PUSH_TOKEN = "pushtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def configure_push(standin, receiver, *, aes_key=None, fmt="json"):
    standin.control(
        "POST",
        "push-config",
        {
            "url": receiver.url,
            "token": PUSH_TOKEN,
            "aes_key": aes_key,
            "format": fmt,
            "delay": 0.05,
        },
    )


def read(push, settings, aes_key):
    return decrypt_and_parse(
        body=push.body,
        content_type=push.content_type,
        query=push.query,
        token=PUSH_TOKEN,
        aes_key=aes_key,
        appid=settings.WECHAT_APPID,
    )


@pytest.mark.parametrize(
    ("aes_key", "fmt"),
    [(None, "json"), (AES_KEY, "json"), (AES_KEY, "xml"), (None, "xml")],
)
def test_verdict_arrives_signed_at_the_callback(
    standin, push_receiver, settings, aes_key, fmt
):
    configure_push(standin, push_receiver, aes_key=aes_key, fmt=fmt)

    trace_id = client.check_media_async(
        openid="zhangsan", media_url="https://cdn.example/a.jpg"
    )
    push = push_receiver.next_push()

    assert push.path == "/wechat/callback"
    assert push.query["openid"] == "zhangsan"
    assert ("encrypt_type" in push.query) == bool(aes_key)
    event = read(push, settings, aes_key)
    assert event["Event"] == "wxa_media_check"
    assert event["trace_id"] == trace_id
    assert event["appid"] == settings.WECHAT_APPID
    assert event["result"] == {"suggest": "pass", "label": 100}


def test_verdict_follows_the_configured_rule(standin, push_receiver, settings):
    configure_push(standin, push_receiver, aes_key=AES_KEY)
    standin.control(
        "POST",
        "media-verdicts",
        {"rules": [{"match": "/bad/", "suggest": "risky", "label": 20002}]},
    )

    client.check_media_async(
        openid="zhangsan", media_url="https://cdn.example/bad/b.jpg"
    )
    event = read(push_receiver.next_push(), settings, AES_KEY)

    assert event["result"] == {"suggest": "risky", "label": 20002}


def test_download_failure_is_reported_as_errcode_1008(standin, push_receiver, settings):
    configure_push(standin, push_receiver)
    standin.control(
        "POST", "media-verdicts", {"rules": [{"match": "gone", "errcode": -1008}]}
    )

    client.check_media_async(
        openid="zhangsan", media_url="https://cdn.example/gone.jpg"
    )
    event = read(push_receiver.next_push(), settings, None)

    assert event["errcode"] == -1008


def test_push_signed_with_another_token_is_refused(standin, push_receiver, settings):
    configure_push(standin, push_receiver, aes_key=AES_KEY)
    client.check_media_async(openid="zhangsan", media_url="https://cdn.example/a.jpg")
    push = push_receiver.next_push()

    with pytest.raises(PushSignatureInvalid):
        decrypt_and_parse(
            body=push.body,
            content_type=push.content_type,
            query=push.query,
            token="wrong",
            aes_key=AES_KEY,
            appid=settings.WECHAT_APPID,
        )


def test_accepting_a_subscription_counts_and_pushes_the_popup_event(
    standin, push_receiver, settings
):
    configure_push(standin, push_receiver, aes_key=AES_KEY)

    answer = standin.control(
        "POST",
        "consents/accept",
        {"openid": "lisi", "template_ids": ["T1"], "push": True},
    )
    event = read(push_receiver.next_push(), settings, AES_KEY)

    assert answer["counts"] == {"T1": 1}
    assert event["Event"] == "subscribe_msg_popup_event"
    assert event["List"] == [
        {"TemplateId": "T1", "SubscribeStatusString": "accept", "PopupScene": "0"}
    ]
    assert client.send_subscribe_message(
        openid="lisi", template_id="T1", data={"thing1": "通知"}
    )
