"""WeChat login over real HTTP against the stand-in: new, returning, reused codes, WeChat faults."""

from __future__ import annotations

import logging

import pytest

from residents.actions import do_ban_user
from residents.models import ApiToken, User
from tests import factories as f
from tests.conftest import assert_error

LOGIN = "/api/v1/auth/wechat"
pytestmark = pytest.mark.django_db


def test_first_login_creates_the_user_and_returns_a_working_token(anon, api_for, wechat_standin):
    response = anon.post(LOGIN, {"code": "demo-newcomer-1", "nickname": "新居民"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"token", "expires_at", "user"}
    user = User.objects.get(openid="newcomer")
    assert user.username == "wx_newcomer"
    assert user.unionid == "union-newcomer"
    assert user.nickname == "新居民"
    assert body["user"]["id"] == user.pk
    assert "+08:00" in body["expires_at"]

    me = anon.client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    assert me.json()["id"] == user.pk
    # Only the hash is stored.
    assert not ApiToken.objects.filter(key_hash=body["token"]).exists()


def test_returning_user_logs_in_as_the_same_user_with_200(anon, wechat_standin):
    existing = f.UserFactory(openid="zhangsan", username="wx_zhangsan")
    response = anon.post(LOGIN, {"code": "demo-zhangsan-1"})
    assert response.status_code == 200
    assert response.json()["user"]["id"] == existing.pk
    assert User.objects.filter(openid="zhangsan").count() == 1


def test_reused_code_gives_401_and_creates_nobody(anon, wechat_standin):
    assert anon.post(LOGIN, {"code": "demo-first-1"}).status_code == 201
    User.objects.filter(openid="first").delete()
    assert_error(anon.post(LOGIN, {"code": "demo-first-1"}), 401, "wechat_code_invalid")
    assert not User.objects.filter(openid="first").exists()


def test_unknown_code_gives_401(anon, wechat_standin):
    assert_error(anon.post(LOGIN, {"code": "no-such-code"}), 401, "wechat_code_invalid")
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "errcode", "errcode": -1},
        {"kind": "errcode", "errcode": 45011},
        {"kind": "malformed"},
        {"kind": "close"},
    ],
    ids=["busy", "rate-limited", "malformed", "dropped"],
)
def test_wechat_fault_gives_503_with_retry_after_and_changes_nothing(anon, wechat_standin, fault):
    wechat_standin.control("POST", "faults", {"path": "sns/jscode2session", "times": 1, **fault})
    response = anon.post(LOGIN, {"code": "demo-unlucky-1"})
    assert_error(response, 503)
    assert int(response["Retry-After"]) > 0
    assert User.objects.count() == 0 and ApiToken.objects.count() == 0


def test_wechat_timeout_gives_503_quickly(anon, wechat_standin, settings):
    settings.WECHAT_TIMEOUT_SECONDS = 0.6
    wechat_standin.control("POST", "faults", {"path": "sns/jscode2session", "kind": "delay", "delay": 2, "times": 1})
    response = anon.post(LOGIN, {"code": "demo-slow-1"})
    assert_error(response, 503, "wechat_unavailable")
    assert response["Retry-After"]
    assert User.objects.count() == 0


def test_session_key_is_never_returned_or_logged(anon, wechat_standin, caplog):
    caplog.set_level(logging.DEBUG)
    response = anon.post(LOGIN, {"code": "demo-secretive-1"})
    assert response.status_code == 201
    session_key = wechat_standin.state.session_keys["secretive"]
    assert session_key not in response.content.decode()
    assert "session_key" not in response.content.decode()
    assert session_key not in caplog.text


@pytest.mark.parametrize(
    "payload",
    [{}, {"code": ""}, {"code": "x" * 129}, {"code": "demo-a-1", "nickname": "长" * 33}, {"code": "demo-a-1", "admin": True}, []],
    ids=["missing", "blank", "too-long", "nickname-too-long", "unknown-field", "not-an-object"],
)
def test_bad_login_input_gives_400_and_spends_no_code(anon, wechat_standin, payload):
    assert_error(anon.post(LOGIN, payload), 400, "invalid_input")
    assert User.objects.count() == 0


def test_malformed_json_gives_400(anon, wechat_standin):
    assert_error(anon.raw_post(LOGIN, b'{"code": '), 400, "malformed_request")


def test_logout_revokes_only_the_current_token(api_for, db):
    user = f.UserFactory()
    phone_client, tablet_client = api_for(user), api_for(user)
    assert phone_client.post("/api/v1/auth/logout").status_code == 204
    assert_error(phone_client.get("/api/v1/me"), 401, "token_invalid")
    assert tablet_client.get("/api/v1/me").status_code == 200


def test_logout_needs_a_token(anon, db):
    assert_error(anon.post("/api/v1/auth/logout"), 401, "not_authenticated")


def test_expired_token_gives_401_token_expired(api_for, db):
    from datetime import timedelta

    from django.utils import timezone

    user = f.UserFactory()
    client = api_for(user)
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(client.get("/api/v1/me"), 401, "token_expired")


def test_banned_user_loses_every_token_and_cannot_log_in_again(anon, api_for, wechat_standin):
    user = f.UserFactory(openid="troll", username="wx_troll")
    client = api_for(user)
    do_ban_user(user_id=user.pk, actor=None)
    assert_error(client.get("/api/v1/me"), 401, "token_invalid")
    assert not ApiToken.objects.live().filter(user=user).exists()
    assert_error(anon.post(LOGIN, {"code": "demo-troll-1"}), 403, "user_banned")
    assert ApiToken.objects.filter(user=user).count() == 1


def test_admin_ban_action_revokes_tokens(client, db):
    admin = User.objects.create_superuser("root", password="pw-root-123")
    target = f.UserFactory()
    f.token_for(target)
    client.force_login(admin)
    response = client.post(
        "/admin/residents/user/", {"action": "ban_users", "_selected_action": [target.pk]}, follow=True
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.is_banned
    assert not ApiToken.objects.live().filter(user=target).exists()


def test_unbanned_user_logs_in_again_but_old_tokens_stay_dead(anon, api_for, wechat_standin):
    from residents.actions import do_unban_user

    user = f.UserFactory(openid="penitent", username="wx_penitent")
    old = api_for(user)
    do_ban_user(user_id=user.pk, actor=None)
    do_unban_user(user_id=user.pk, actor=None)
    assert_error(old.get("/api/v1/me"), 401, "token_invalid")
    assert anon.post(LOGIN, {"code": "demo-penitent-1"}).status_code == 200
