"""Hardening: headers, CSRF, CORS, body limits, login lockout, production settings."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from tests import factories as f
from tests.conftest import assert_error

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCKED = "登录失败次数过多"


# --- headers ------------------------------------------------------------------------


def test_api_answers_carry_the_security_headers(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_admin_login_page_has_a_strict_csp_with_a_nonce(client, db):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self' 'nonce-" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    # Two requests never share a nonce.
    assert client.get("/admin/login/")["Content-Security-Policy"] != policy


def test_error_pages_outside_drf_also_carry_the_headers(client, db):
    response = client.get("/api/v1/no-such-thing")
    assert_error(response, 404, "not_found")
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_swagger_page_gets_only_the_policy_it_needs(client, db):
    policy = client.get("/api/docs/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"  # no CDN, no inline script
    assert "http" not in policy
    assert "frame-ancestors 'none'" in policy
    assert policy != client.get("/admin/login/")["Content-Security-Policy"]


def test_swagger_page_loads_nothing_from_outside(client, db):
    """Every script, stylesheet and icon of the docs page is ours and found by staticfiles."""
    import re

    from django.contrib.staticfiles import finders

    html = client.get("/api/docs/").content.decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/") for ref in refs), refs
    statics = [ref for ref in refs if ref.startswith("/static/")]
    assert len(statics) >= 3  # bundle, preset, stylesheet
    for ref in statics:
        assert finders.find(ref.removeprefix("/static/")), ref
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


# --- CORS ---------------------------------------------------------------------------


def test_cross_origin_preflight_gets_no_cors_grant(client, db):
    response = client.options(
        "/api/schema/",
        HTTP_ORIGIN="https://evil.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert not any(h.lower().startswith("access-control-") for h in response.headers)


def test_cross_origin_get_gets_no_cors_grant(client, db):
    response = client.get("/api/schema/", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in response


# --- CSRF and sessions ------------------------------------------------------------


def test_admin_login_post_without_csrf_token_is_refused_in_chinese(db):
    f.UserFactory(username="boss", is_staff=True, is_superuser=True).set_password("admin12345")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "boss", "password": "admin12345"})
    assert response.status_code == 403
    assert "请刷新页面后重试" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.urls("tests.trust.probe_urls")
def test_a_console_session_cookie_does_not_authenticate_the_api(client, db):
    """Only bearer tokens open the API, so a forged cross-site request carries no authority."""
    client.force_login(f.UserFactory(is_staff=True, is_superuser=True))
    assert_error(client.get("/api/v1/_probe/echo"), 401, "not_authenticated")
    assert_error(client.post("/api/v1/_probe/echo", {"x": 1}, content_type="application/json"), 401)


def test_admin_needs_a_staff_login(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(f.UserFactory(is_staff=False))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- body size ------------------------------------------------------------------------


@pytest.mark.urls("tests.trust.probe_urls")
def test_json_body_over_the_limit_is_413_in_the_error_shape(api_for, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    api = api_for(f.UserFactory())
    body = json.dumps({"text": "长" * 2000})
    response = api.raw_post("/api/v1/_probe/echo", body)
    assert_error(response, 413, "payload_too_large")
    assert response["Connection"] == "close"
    # Just under the limit is fine.
    assert api.raw_post("/api/v1/_probe/echo", json.dumps({"text": "x" * 900})).status_code == 200


def test_body_over_the_limit_is_refused_before_routing_or_auth(client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/api/v1/auth/wechat", "x" * 5000, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


@pytest.mark.urls("tests.trust.probe_urls")
def test_multipart_upload_gets_the_image_limit_not_the_json_limit(api_for, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.MAX_IMAGE_UPLOAD_BYTES = 8 * 1024
    api = api_for(f.UserFactory())
    small = io.BytesIO(b"\x89PNG" + b"0" * 4000)
    small.name = "a.png"
    assert api.client.post("/api/v1/_probe/echo", {"image": small}, format="multipart").status_code == 200
    big = io.BytesIO(b"\x89PNG" + b"0" * 400_000)
    big.name = "b.png"
    assert_error(api.client.post("/api/v1/_probe/echo", {"image": big}, format="multipart"), 413, "payload_too_large")


def test_malformed_content_length_is_400(client, db):
    response = client.post("/api/v1/auth/wechat", "{}", content_type="application/json", CONTENT_LENGTH="abc")
    assert_error(response, 400, "invalid_content_length")


# --- login lockout ------------------------------------------------------------------


def _admin(username="chenjuwei", password="demo12345"):
    user = f.UserFactory(username=username, is_staff=True, is_superuser=True)
    user.set_password(password)
    user.save()
    return user


def _login(client, username, password, ip="10.0.0.1"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_admin_login_locks_after_five_failures_even_with_the_right_password(client, db):
    _admin()
    for _ in range(5):
        response = _login(client, "chenjuwei", "wrong")
        assert response.status_code == 200 and LOCKED not in response.content.decode()
    response = _login(client, "chenjuwei", "demo12345")
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_ip(client, db):
    _admin()
    _admin(username="liujiedao")
    for _ in range(5):
        _login(client, "chenjuwei", "wrong", ip="10.0.0.1")
    # Same user from another address, and another user from the same address, still get in.
    assert _login(Client(), "chenjuwei", "demo12345", ip="10.0.0.2").status_code == 302
    assert _login(Client(), "liujiedao", "demo12345", ip="10.0.0.1").status_code == 302


def test_username_case_does_not_reset_the_count(client, db):
    _admin()
    for name in ["chenjuwei", "CHENJUWEI", "ChenJuWei", " chenjuwei", "chenjuWEI"]:
        _login(client, name, "wrong")
    assert LOCKED in _login(client, "chenjuwei", "demo12345").content.decode()


def test_unknown_usernames_are_counted_like_real_ones(client, db):
    for _ in range(5):
        _login(client, "nobody", "wrong")
    assert LOCKED in _login(client, "nobody", "wrong").content.decode()


def test_a_success_before_the_limit_resets_the_count(client, db):
    _admin()
    for _ in range(4):
        _login(client, "chenjuwei", "wrong")
    assert _login(Client(), "chenjuwei", "demo12345").status_code == 302
    for _ in range(4):
        _login(client, "chenjuwei", "wrong")
    assert _login(Client(), "chenjuwei", "demo12345").status_code == 302


def test_the_lock_lifts_when_its_time_is_up(client, db, settings):
    from django.core.cache import cache

    from core import lockout

    _admin()
    for _ in range(5):
        _login(client, "chenjuwei", "wrong")
    assert lockout.is_locked("chenjuwei", "10.0.0.1")
    # The lock is a cache entry with LOGIN_LOCKOUT_MINUTES as its timeout; expire it.
    cache.delete(lockout._keys("chenjuwei", "10.0.0.1")[1])
    assert _login(client, "chenjuwei", "demo12345").status_code == 302


def test_forwarded_for_header_is_ignored_unless_a_proxy_is_trusted(client, db, settings):
    _admin()
    for i in range(5):
        client.post("/admin/login/", {"username": "chenjuwei", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"1.2.3.{i}")
    assert LOCKED in _login(client, "chenjuwei", "demo12345", ip="127.0.0.1").content.decode()


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked(client, db, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    _admin()
    for _ in range(5):
        client.post(
            "/admin/login/", {"username": "chenjuwei", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="spoofed, 8.8.8.8", REMOTE_ADDR="10.0.0.9",
        )
    locked = client.post(
        "/admin/login/", {"username": "chenjuwei", "password": "demo12345"},
        HTTP_X_FORWARDED_FOR="other-spoof, 8.8.8.8", REMOTE_ADDR="10.0.0.9",
    )
    assert LOCKED in locked.content.decode()
    other_client = Client().post(
        "/admin/login/", {"username": "chenjuwei", "password": "demo12345"},
        HTTP_X_FORWARDED_FOR="9.9.9.9", REMOTE_ADDR="10.0.0.9",
    )
    assert other_client.status_code == 302


# --- production settings ------------------------------------------------------------

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "api.example.cn",
    "DATABASE_URL": "sqlite:////tmp/stq-prod-check.sqlite3",
    "FIELD_ENCRYPTION_KEYS": "ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc=",
    "WECHAT_APPID": "wx123",
    "WECHAT_SECRET": "s",
    "WECHAT_PUSH_TOKEN": "t",
    "WECHAT_PUSH_AES_KEY": "ZGV2LW9ubHktcHVzaC1hZXMta2V5LTMyLWJ5dGVzISE",
    "PUBLIC_BASE_URL": "https://api.example.cn",
}


def _production_settings(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_", "DATABASE_URL", "FIELD_"))}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings", **overrides)
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k, None) for k in ['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SECURE_HSTS_SECONDS', 'AUTHENTICATION_BACKENDS', 'SECURE_CSP', 'X_FRAME_OPTIONS']}))"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_is_not_debug_and_cookies_are_secure():
    values = _production_settings()
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["AUTHENTICATION_BACKENDS"] == ["core.lockout.LockoutModelBackend"]
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_CSP"]["frame-ancestors"] == ["'none'"]


def test_production_refuses_a_malformed_debug_flag():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_"))}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings", DJANGO_DEBUG="maybe")
    result = subprocess.run([sys.executable, "manage.py", "check"], check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "DJANGO_DEBUG" in result.stderr


def test_production_refuses_a_short_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_"))}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings", DJANGO_SECRET_KEY="short")
    result = subprocess.run([sys.executable, "manage.py", "check"], check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr
