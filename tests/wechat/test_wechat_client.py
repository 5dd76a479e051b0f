"""The adapter over real HTTP against the stand-in: tokens, codes, errors, each call."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from wechat import client
from wechat.errors import (
    WeChatBadRequest,
    WeChatCodeInvalid,
    WeChatError,
    WeChatMisconfigured,
    WeChatNoConsent,
    WeChatOutcomeUnknown,
    WeChatQuotaExceeded,
    WeChatUnavailable,
)
from wechat.standin.png import read_text_chunks

TEMPLATE = "tmpl-service-progress"


def calls(standin, path):
    return standin.control("GET", f"calls?path={path}")["calls"]


def fault(standin, **spec):
    standin.control("POST", "faults", spec)


def send(openid="zhangsan", template_id=TEMPLATE):
    return client.send_subscribe_message(
        openid=openid,
        template_id=template_id,
        data={"thing1": "水管维修", "phrase2": "已受理"},
        page="pages/index/index",
    )


# ---- access token ------------------------------------------------------------------


def test_two_clients_share_one_token_through_the_cache(standin, settings):
    first = client.StableTokenClient(
        settings.WECHAT_APPID, settings.WECHAT_SECRET, api_base=standin.url
    )
    second = client.StableTokenClient(
        settings.WECHAT_APPID, settings.WECHAT_SECRET, api_base=standin.url
    )

    assert first.access_token == second.access_token
    client.check_text(openid="zhangsan", content="你好", scene=2)

    assert len(calls(standin, "cgi-bin/stable_token")) == 1


def test_token_is_cached_under_a_key_namespaced_by_appid(standin, settings):
    client.check_text(openid="zhangsan", content="你好", scene=2)
    assert cache.get(f"wechat:{settings.WECHAT_APPID}:access_token")


def test_expired_token_is_replaced_after_the_clock_passes_two_hours(standin):
    client.check_text(openid="zhangsan", content="你好", scene=2)
    standin.control("POST", "clock", {"advance": 7300})

    verdict = client.check_text(openid="zhangsan", content="你好", scene=2)

    assert verdict.suggest == "pass"
    answers = [c["errcode"] for c in calls(standin, "wxa/msg_sec_check")]
    assert answers == [0, 42001, 0]
    assert len(calls(standin, "cgi-bin/stable_token")) == 2


def test_injected_40001_is_retried_with_a_fresh_token(standin):
    fault(standin, path="wxa/msg_sec_check", errcode=40001, times=1)

    verdict = client.check_text(openid="zhangsan", content="你好", scene=2)

    assert verdict.suggest == "pass"
    stable = calls(standin, "cgi-bin/stable_token")
    assert len(stable) == 3  # first fetch, plain refetch (same token), forced refresh
    assert [c["errcode"] for c in calls(standin, "wxa/msg_sec_check")] == [40001, 0]


def test_endless_40001_ends_in_a_wechat_error_not_recursion(standin):
    fault(standin, path="wxa/msg_sec_check", errcode=40001)

    with pytest.raises(WeChatError):
        client.check_text(openid="zhangsan", content="你好", scene=2)

    assert len(calls(standin, "wxa/msg_sec_check")) <= 1 + client.MAX_TOKEN_RETRIES


def test_wrong_secret_is_a_configuration_error(standin, settings):
    settings.WECHAT_SECRET = "not-the-secret"
    with pytest.raises(WeChatMisconfigured) as info:
        client.check_text(openid="zhangsan", content="你好", scene=2)
    assert info.value.errcode == 40125


def test_default_timeouts_fail_within_five_seconds(settings):
    del settings.WECHAT_HTTP_TIMEOUT
    settings.WECHAT_TIMEOUT_SECONDS = 3.0
    assert sum(client._timeout()) <= 5


# ---- login and phone codes -----------------------------------------------------------


def test_demo_code_logs_in_the_persona_once(standin):
    session = client.code_to_session("demo-zhangsan-1")

    assert session.openid == "zhangsan"
    assert session.unionid == "union-zhangsan"
    assert session.session_key
    with pytest.raises(WeChatCodeInvalid) as info:
        client.code_to_session("demo-zhangsan-1")
    assert info.value.errcode == 40163


def test_login_sends_no_access_token(standin):
    client.code_to_session("demo-lisi-1")
    assert calls(standin, "cgi-bin/stable_token") == []
    assert "access_token" not in calls(standin, "sns/jscode2session")[0]["query"]


def test_unknown_login_code_is_invalid(standin):
    with pytest.raises(WeChatCodeInvalid) as info:
        client.code_to_session("no-such-code")
    assert info.value.errcode == 40029


def test_minted_login_code_expires_after_five_minutes(standin):
    code = standin.control("POST", "login-codes", {"openid": "wangwu"})["code"]
    standin.control("POST", "clock", {"advance": 301})
    with pytest.raises(WeChatCodeInvalid):
        client.code_to_session(code)


def test_session_key_never_shows_in_repr_or_errors(standin):
    session = client.code_to_session("demo-zhangsan-2")
    assert session.session_key not in repr(session)
    assert session.session_key not in str(session)
    for entry in standin.control("GET", "calls")["calls"]:
        assert session.session_key not in str(entry)


def test_phone_code_gives_the_number_once(standin):
    phone = client.get_phone_number("phone-13800138000-a")

    assert phone.pure_phone_number == "13800138000"
    assert phone.country_code == "86"
    assert "13800138000" not in repr(phone)
    with pytest.raises(WeChatCodeInvalid):
        client.get_phone_number("phone-13800138000-a")


def test_minted_phone_code(standin):
    code = standin.control("POST", "phone-codes", {"phone_number": "13912345678"})[
        "code"
    ]
    assert client.get_phone_number(code).phone_number == "13912345678"


# ---- WeChat trouble --------------------------------------------------------------------


@pytest.mark.parametrize("errcode", [-1, 45011])
def test_busy_wechat_is_unavailable(standin, errcode):
    fault(standin, path="sns/jscode2session", errcode=errcode, times=1)
    with pytest.raises(WeChatUnavailable) as info:
        client.code_to_session("demo-zhangsan-3")
    assert info.value.errcode == errcode
    assert info.value.retry_after > 0


def test_busy_for_a_simulated_minute_then_fine(standin):
    fault(standin, path="wxa/msg_sec_check", errcode=-1, seconds=60)
    with pytest.raises(WeChatUnavailable):
        client.check_text(openid="zhangsan", content="你好", scene=2)
    standin.control("POST", "clock", {"advance": 61})
    assert (
        client.check_text(openid="zhangsan", content="你好", scene=2).suggest == "pass"
    )


@pytest.mark.parametrize("kind", ["malformed", "close"])
def test_garbage_or_dropped_connection_is_unavailable(standin, kind):
    fault(standin, path="wxa/msg_sec_check", kind=kind, times=1)
    with pytest.raises(WeChatUnavailable):
        client.check_text(openid="zhangsan", content="你好", scene=2)


def test_slow_wechat_fails_quickly(standin):
    fault(standin, path="wxa/msg_sec_check", kind="delay", delay=3.0, times=1)
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable):
        client.check_text(openid="zhangsan", content="你好", scene=2)
    assert time.monotonic() - started < 2.5


def test_unreachable_wechat_is_unavailable(settings):
    settings.WECHAT_API_BASE = "http://127.0.0.1:9/"  # discard port: nothing listens
    settings.WECHAT_HTTP_TIMEOUT = (0.5, 0.5)
    cache.clear()
    with pytest.raises(WeChatUnavailable):
        client.code_to_session("demo-zhangsan-4")


def test_daily_quota_is_its_own_error(standin):
    fault(standin, path="wxa/getwxacodeunlimit", errcode=45009, times=1)
    with pytest.raises(WeChatQuotaExceeded):
        client.get_unlimited_qrcode(scene="n=1")


# ---- subscribe messages ------------------------------------------------------------------


def test_each_consent_allows_exactly_one_message(standin):
    standin.control(
        "POST", "consents", {"openid": "zhangsan", "template_id": TEMPLATE, "count": 2}
    )

    first, second = send(), send()

    assert first and second and first != second
    with pytest.raises(WeChatNoConsent):
        send()
    delivered = standin.control("GET", "messages?openid=zhangsan")["messages"]
    assert [m["data"]["thing1"]["value"] for m in delivered] == ["水管维修", "水管维修"]
    assert (
        standin.control("GET", f"consents?openid=zhangsan&template_id={TEMPLATE}")[
            "count"
        ]
        == 0
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_send_answered_after_the_read_timeout_is_outcome_unknown(standin):
    """WeChat carried the send out and answered late: the adapter cannot say it failed."""
    standin.control("POST", "consents", {"openid": "zhangsan", "template_id": TEMPLATE, "count": 2})
    fault(standin, path="cgi-bin/message/subscribe/send", kind="delay", delay=1.5, after=True, times=1)
    with pytest.raises(WeChatOutcomeUnknown):
        send()
    assert len(standin.control("GET", "messages?openid=zhangsan")["messages"]) == 1


def test_send_whose_connection_drops_unanswered_is_outcome_unknown(standin):
    standin.control("POST", "consents", {"openid": "zhangsan", "template_id": TEMPLATE, "count": 1})
    fault(standin, path="cgi-bin/message/subscribe/send", kind="close", times=1)
    with pytest.raises(WeChatOutcomeUnknown):
        send()


def test_send_to_a_refused_port_is_unavailable_not_unknown(standin, settings):
    assert client.get_client().access_token  # the token is in the cache: only the send meets the closed port
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(WeChatUnavailable) as info:
        send()
    assert not isinstance(info.value, WeChatOutcomeUnknown)


def test_token_fetch_timing_out_before_a_send_is_unavailable_not_unknown(standin):
    standin.control("POST", "consents", {"openid": "zhangsan", "template_id": TEMPLATE, "count": 1})
    fault(standin, path="cgi-bin/stable_token", kind="delay", delay=1.5, times=1)
    with pytest.raises(WeChatUnavailable) as info:
        send()
    assert not isinstance(info.value, WeChatOutcomeUnknown)
    assert standin.control("GET", "messages?openid=zhangsan")["messages"] == []


def test_consents_are_per_template(standin):
    standin.control(
        "POST",
        "consents/accept",
        {"openid": "zhangsan", "template_ids": ["other-template"]},
    )
    with pytest.raises(WeChatNoConsent):
        send()


def test_long_term_template_needs_no_count(standin):
    standin.control("POST", "templates/long-term", {"template_id": TEMPLATE})
    assert send() and send()


def test_bad_openid_is_a_bad_request(standin):
    with pytest.raises(WeChatBadRequest) as info:
        send(openid="bad openid!")
    assert info.value.errcode == 40003


# ---- content security ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "suggest", "label"),
    [
        ("周末一起打球", "pass", 100),
        ("代开发票请联系", "risky", 20008),
        ("组织大家上访", "review", 21000),
    ],
)
def test_text_verdicts_follow_the_word_lists(standin, content, suggest, label):
    verdict = client.check_text(openid="zhangsan", content=content, scene=3)
    assert (verdict.suggest, verdict.label) == (suggest, label)
    assert verdict.trace_id


def test_word_lists_are_configurable(standin):
    standin.control("POST", "words", {"add_risky": {"传销": 20008}})
    assert (
        client.check_text(openid="zhangsan", content="加入传销", scene=2).suggest
        == "risky"
    )


def test_title_is_checked_too(standin):
    assert (
        client.check_text(
            openid="zhangsan", content="正文", title="赌博", scene=3
        ).suggest
        == "risky"
    )


def test_bad_scene_is_a_bad_request(standin):
    with pytest.raises(WeChatBadRequest) as info:
        client.check_text(openid="zhangsan", content="你好", scene=9)
    assert info.value.errcode == 40129


def test_media_check_returns_a_trace_id(standin):
    trace_id = client.check_media_async(
        openid="zhangsan", media_url="http://127.0.0.1/img/a.png"
    )
    assert trace_id in standin.control("GET", "media-checks")["media_checks"]


# ---- mini-program code ------------------------------------------------------------------------


def test_qr_code_is_a_png_carrying_the_scene(standin):
    image = client.get_unlimited_qrcode(scene="nb=42", page="pages/join/index")
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert read_text_chunks(image)["scene"] == "nb=42"


def test_qr_scene_longer_than_32_chars_is_refused(standin):
    with pytest.raises(WeChatBadRequest):
        client.get_unlimited_qrcode(scene="x" * 33)


def test_qr_for_an_unpublished_page_is_refused_when_checked(standin):
    standin.control("POST", "qr-config", {"published_pages": ["pages/index/index"]})
    with pytest.raises(WeChatBadRequest) as info:
        client.get_unlimited_qrcode(
            scene="a=1", page="pages/secret/index", check_path=True
        )
    assert info.value.errcode == 41030
    assert client.get_unlimited_qrcode(
        scene="a=1", page="pages/secret/index", check_path=False
    )
