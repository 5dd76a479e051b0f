"""The stand-in speaks WeChat's protocol details, checked with raw HTTP."""

from __future__ import annotations

import requests


def wx(standin, method, path, **kwargs):
    response = requests.request(method, standin.url + path, timeout=5, **kwargs)
    assert response.status_code == 200  # WeChat answers errors with HTTP 200
    return response


def token(standin, settings):
    body = {
        "grant_type": "client_credential",
        "appid": settings.WECHAT_APPID,
        "secret": settings.WECHAT_SECRET,
    }
    return wx(standin, "POST", "cgi-bin/stable_token", json=body).json()["access_token"]


def test_errors_carry_a_rid(standin):
    answer = wx(standin, "POST", "wxa/msg_sec_check", json={"content": "x"}).json()
    assert answer["errcode"] == 41001
    assert " rid: " in answer["errmsg"]


def test_wrong_method_is_43001_or_43002(standin):
    assert (
        wx(standin, "POST", "sns/jscode2session", data=b"{}").json()["errcode"] == 43001
    )
    assert wx(standin, "GET", "wxa/msg_sec_check").json()["errcode"] == 43002


def test_empty_body_is_44002_and_bad_json_47001(standin, settings):
    access_token = token(standin, settings)
    url = f"wxa/msg_sec_check?access_token={access_token}"
    assert wx(standin, "POST", url, data=b"").json()["errcode"] == 44002
    assert wx(standin, "POST", url, data=b"{oops").json()["errcode"] == 47001


def test_bad_appid_and_secret(standin, settings):
    bad_appid = {
        "grant_type": "client_credential",
        "appid": "wxnope",
        "secret": settings.WECHAT_SECRET,
    }
    bad_secret = {
        "grant_type": "client_credential",
        "appid": settings.WECHAT_APPID,
        "secret": "nope",
    }
    assert (
        wx(standin, "POST", "cgi-bin/stable_token", json=bad_appid).json()["errcode"]
        == 40013
    )
    assert (
        wx(standin, "POST", "cgi-bin/stable_token", json=bad_secret).json()["errcode"]
        == 40125
    )


def test_stable_token_is_the_same_while_valid_and_new_after_expiry(standin, settings):
    first = token(standin, settings)
    assert token(standin, settings) == first
    standin.control("POST", "clock", {"advance": 7201})
    assert token(standin, settings) != first


def test_unknown_token_is_40001_and_expired_42001(standin, settings):
    body = {"version": 2, "openid": "zhangsan", "scene": 1, "content": "hi"}
    assert (
        wx(standin, "POST", "wxa/msg_sec_check?access_token=forged", json=body).json()[
            "errcode"
        ]
        == 40001
    )
    access_token = token(standin, settings)
    standin.control("POST", "clock", {"advance": 7201})
    assert (
        wx(
            standin, "POST", f"wxa/msg_sec_check?access_token={access_token}", json=body
        ).json()["errcode"]
        == 42001
    )


def test_classic_token_retires_the_previous_one_after_five_minutes(standin, settings):
    params = {
        "grant_type": "client_credential",
        "appid": settings.WECHAT_APPID,
        "secret": settings.WECHAT_SECRET,
    }
    old = wx(standin, "GET", "cgi-bin/token", params=params).json()["access_token"]
    wx(standin, "GET", "cgi-bin/token", params=params)
    body = {"code": "phone-13800138000-x"}
    assert (
        wx(
            standin,
            "POST",
            f"wxa/business/getuserphonenumber?access_token={old}",
            json=body,
        ).json()["errcode"]
        == 0
    )
    standin.control("POST", "clock", {"advance": 301})
    body = {"code": "phone-13800138000-y"}
    assert (
        wx(
            standin,
            "POST",
            f"wxa/business/getuserphonenumber?access_token={old}",
            json=body,
        ).json()["errcode"]
        == 40001
    )


def test_content_over_2500_chars_and_bad_scene_are_refused(standin, settings):
    url = f"wxa/msg_sec_check?access_token={token(standin, settings)}"
    long_body = {"version": 2, "openid": "zhangsan", "scene": 2, "content": "长" * 2501}
    assert wx(standin, "POST", url, json=long_body).json()["errcode"] != 0
    assert (
        wx(
            standin, "POST", url, json={**long_body, "content": "hi", "scene": 5}
        ).json()["errcode"]
        == 40129
    )


def test_risky_v2_answer_has_errcode_0_and_keyword_detail(standin, settings):
    url = f"wxa/msg_sec_check?access_token={token(standin, settings)}"
    answer = wx(
        standin,
        "POST",
        url,
        json={"version": 2, "openid": "zhangsan", "scene": 2, "content": "赌博"},
    ).json()
    assert answer["errcode"] == 0
    assert answer["result"] == {"suggest": "risky", "label": 20006}
    assert any(d.get("keyword") == "赌博" for d in answer["detail"])


def test_counted_fault_stops_after_n_calls(standin):
    standin.control(
        "POST", "faults", {"path": "sns/jscode2session", "errcode": 45011, "times": 2}
    )
    params = {"js_code": "x"}
    codes = [
        wx(standin, "GET", "sns/jscode2session", params=params).json()["errcode"]
        for _ in range(3)
    ]
    assert codes == [45011, 45011, 41002]
    assert standin.control("GET", "faults")["faults"] == []


def test_late_answer_fault_sends_the_message_then_holds_the_answer(standin, settings):
    """WeChat carried the send out; only its answer is late, so the caller's read times out."""
    import time

    access_token = token(standin, settings)
    standin.control("POST", "consents", {"openid": "late_reader", "template_id": "T1", "count": 1})
    standin.control(
        "POST",
        "faults",
        {"path": "cgi-bin/message/subscribe/send", "kind": "delay", "delay": 1.0, "after": True, "times": 1},
    )
    body = {"touser": "late_reader", "template_id": "T1", "data": {"thing1": {"value": "x"}}}
    started = time.monotonic()
    try:
        requests.post(
            standin.url + f"cgi-bin/message/subscribe/send?access_token={access_token}", json=body, timeout=0.3
        )
        raise AssertionError("the answer should have been held past the read timeout")
    except requests.ReadTimeout:
        pass
    assert time.monotonic() - started < 0.9
    # The message was carried out before the answer was held.
    messages = standin.control("GET", "messages?openid=late_reader")["messages"]
    assert len(messages) == 1
    assert standin.control("GET", "consents?openid=late_reader&template_id=T1")["count"] == 0


def test_reset_clears_faults_consents_and_clock(standin):
    standin.control("POST", "faults", {"path": "*", "errcode": -1})
    standin.control("POST", "consents", {"openid": "a", "template_id": "t", "count": 3})
    standin.control("POST", "clock", {"advance": 100})
    standin.control("POST", "reset")
    state = standin.control("GET", "state")
    assert (
        state["faults"] == [] and state["consents"] == [] and state["clock_offset"] == 0
    )


def test_reset_restores_the_start_up_push_config(wechat_standin):
    started_with = wechat_standin.control("GET", "push-config")
    wechat_standin.control(
        "POST", "push-config", {"url": "http://127.0.0.1:1/elsewhere", "format": "xml"}
    )

    wechat_standin.reset()

    assert wechat_standin.control("GET", "push-config") == started_with
