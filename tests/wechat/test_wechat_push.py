"""The push protocol: signatures, safe-mode AES, JSON and XML bodies."""

from __future__ import annotations

import json

import pytest

from wechat.push import (
    PushMalformed,
    PushSignatureInvalid,
    decrypt_and_parse,
    encrypt_and_sign,
    verify_signature,
)

TOKEN = "pushtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxtestapp0000000"

MEDIA_EVENT = {
    "ToUserName": "gh_x",
    "FromUserName": "zhangsan",
    "CreateTime": 1714036504,
    "MsgType": "event",
    "Event": "wxa_media_check",
    "appid": APPID,
    "trace_id": "trace-1",
    "version": 2,
    "errcode": 0,
    "errmsg": "ok",
    "result": {"suggest": "risky", "label": 20002},
    "detail": [
        {
            "strategy": "content_model",
            "errcode": 0,
            "suggest": "risky",
            "label": 20002,
            "prob": 90,
        }
    ],
}


def parse(push, *, aes_key=AES_KEY, token=TOKEN, appid=APPID, query=None):
    return decrypt_and_parse(
        body=push.body,
        content_type=push.content_type,
        query=query if query is not None else push.query,
        token=token,
        aes_key=aes_key,
        appid=appid,
    )


def test_signature_matches_the_documented_vector():
    assert verify_signature(
        "AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492"
    )


def test_signature_rejects_a_changed_nonce_or_empty_values():
    assert not verify_signature(
        "AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711493"
    )
    assert not verify_signature("AAAAA", "", "1714036504", "1514711492")


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("aes_key", [None, AES_KEY])
def test_media_check_event_round_trips_in_every_mode(fmt, aes_key):
    push = encrypt_and_sign(
        message=MEDIA_EVENT,
        token=TOKEN,
        aes_key=aes_key,
        appid=APPID,
        fmt=fmt,
        openid="zhangsan",
    )

    event = parse(push, aes_key=aes_key)

    assert event["Event"] == "wxa_media_check"
    assert event["trace_id"] == "trace-1"
    assert event["version"] == 2 and event["errcode"] == 0
    assert event["result"] == {"suggest": "risky", "label": 20002}
    assert event["detail"][0]["label"] == 20002
    if aes_key:
        assert push.query["encrypt_type"] == "aes"
        assert b"trace-1" not in push.body


def test_safe_mode_json_envelope_has_only_tousername_and_encrypt():
    push = encrypt_and_sign(
        message=MEDIA_EVENT, token=TOKEN, aes_key=AES_KEY, appid=APPID
    )
    assert set(json.loads(push.body)) == {"ToUserName", "Encrypt"}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_popup_event_with_one_template_still_gives_a_list(fmt):
    message = {
        "ToUserName": "gh_x",
        "FromUserName": "zhangsan",
        "CreateTime": 1,
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "List": {
            "TemplateId": "T1",
            "SubscribeStatusString": "accept",
            "PopupScene": "0",
        },
    }
    push = encrypt_and_sign(
        message=message, token=TOKEN, aes_key=AES_KEY, appid=APPID, fmt=fmt
    )

    event = parse(push)

    assert event["List"] == [
        {"TemplateId": "T1", "SubscribeStatusString": "accept", "PopupScene": "0"}
    ]


def test_popup_event_xml_with_two_templates_gives_two_items():
    xml = (
        "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>"
        "<List><TemplateId><![CDATA[T1]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
        "<List><TemplateId><![CDATA[T2]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
        "</SubscribeMsgPopupEvent></xml>"
    )
    signed = encrypt_and_sign(
        message={}, token=TOKEN, aes_key=None, appid=APPID, timestamp="1", nonce="2"
    )

    event = decrypt_and_parse(
        body=xml.encode(),
        content_type="text/xml",
        query=signed.query,
        token=TOKEN,
        aes_key=None,
        appid=APPID,
    )

    assert [item["TemplateId"] for item in event["List"]] == ["T1", "T2"]
    assert event["List"][1]["SubscribeStatusString"] == "reject"


def test_wrong_token_is_refused():
    push = encrypt_and_sign(message=MEDIA_EVENT, token=TOKEN, aes_key=None, appid=APPID)
    with pytest.raises(PushSignatureInvalid):
        parse(push, token="other", aes_key=None)


def test_tampered_ciphertext_signature_is_refused():
    push = encrypt_and_sign(
        message=MEDIA_EVENT, token=TOKEN, aes_key=AES_KEY, appid=APPID
    )
    with pytest.raises(PushSignatureInvalid):
        parse(push, query=push.query | {"msg_signature": "0" * 40})


def test_push_for_another_appid_is_refused():
    push = encrypt_and_sign(
        message=MEDIA_EVENT, token=TOKEN, aes_key=AES_KEY, appid="wxsomeoneelse000"
    )
    with pytest.raises(PushSignatureInvalid):
        parse(push)


def test_missing_signature_is_refused():
    push = encrypt_and_sign(message=MEDIA_EVENT, token=TOKEN, aes_key=None, appid=APPID)
    with pytest.raises(PushSignatureInvalid):
        parse(push, query={}, aes_key=None)


@pytest.mark.parametrize("body", [b"{not json", b"<xml><a>", b"[1, 2]", b"\xff\xfe"])
def test_unreadable_bodies_are_malformed(body):
    signed = encrypt_and_sign(message={}, token=TOKEN, aes_key=None, appid=APPID)
    with pytest.raises(PushMalformed):
        decrypt_and_parse(
            body=body,
            content_type="application/json",
            query=signed.query,
            token=TOKEN,
            aes_key=None,
            appid=APPID,
        )


def test_encrypted_push_without_a_configured_key_is_malformed():
    push = encrypt_and_sign(
        message=MEDIA_EVENT, token=TOKEN, aes_key=AES_KEY, appid=APPID
    )
    with pytest.raises(PushMalformed):
        parse(push, aes_key=None)


def test_garbage_ciphertext_is_malformed():
    push = encrypt_and_sign(
        message=MEDIA_EVENT, token=TOKEN, aes_key=AES_KEY, appid=APPID
    )
    from wechat.push import _sha1_sorted

    query = dict(push.query)
    query["msg_signature"] = _sha1_sorted(
        TOKEN, query["timestamp"], query["nonce"], "bm90IGFlcw=="
    )
    body = json.dumps({"ToUserName": "gh_x", "Encrypt": "bm90IGFlcw=="}).encode()
    with pytest.raises(PushMalformed):
        decrypt_and_parse(
            body=body,
            content_type="application/json",
            query=query,
            token=TOKEN,
            aes_key=AES_KEY,
            appid=APPID,
        )
