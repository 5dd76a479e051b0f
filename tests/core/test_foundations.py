"""The shared mechanisms every endpoint relies on: error shape, settings, encryption, cursors."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core import crypto
from core.errors import InvalidInput
from core.pagination import decode_cursor, encode_cursor, paginate_keyset
from residents.models import ApiToken, Region, User
from tests import factories as f
from tests.conftest import assert_error

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _check_production(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_", "DATABASE_URL", "FIELD_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings"}, **env_overrides)
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)


PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
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


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "WECHAT_SECRET"])
def test_production_start_without_a_setting_names_it(missing):
    env = dict(PRODUCTION_ENV)
    del env[missing]
    result = _check_production(env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_start_with_malformed_key_names_it():
    result = _check_production({**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": "not-a-key"})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


@pytest.mark.parametrize(
    ("keys", "starts"),
    [
        ("sm4:MDEyMzQ1Njc4OWFiY2RlZg==,ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc=", True),
        ("fernet:ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc=", True),
        ("sm4:ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc=", False),  # 32 bytes: not an SM4 key
        ("aes:ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc=", False),
    ],
)
def test_production_start_checks_each_key_for_its_algorithm(keys, starts):
    result = _check_production({**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": keys})
    assert (result.returncode == 0) is starts, result.stderr
    if not starts:
        assert "FIELD_ENCRYPTION_KEYS entry 1" in result.stderr


def test_production_start_with_all_settings_passes():
    result = _check_production(PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


def test_encrypted_field_is_ciphertext_in_the_database(db):
    user = f.UserFactory(phone="13812345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM residents_user WHERE id = %s", [user.pk])
        stored = cursor.fetchone()[0]
    assert "13812345678" not in stored and stored.startswith(crypto.PREFIX)
    assert User.objects.get(pk=user.pk).phone == "13812345678"


def test_old_key_still_decrypts_after_a_new_key_is_added(db, settings):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    user = f.UserFactory(phone="13900001111")
    settings.FIELD_ENCRYPTION_KEYS = ["bmV3LWZpZWxkLWtleS0zMi1ieXRlcy1sb25nLWxvbmc=", old]
    assert User.objects.get(pk=user.pk).phone == "13900001111"
    settings.FIELD_ENCRYPTION_KEYS = ["bmV3LWZpZWxkLWtleS0zMi1ieXRlcy1sb25nLWxvbmc="]
    with pytest.raises(ValueError):
        User.objects.get(pk=user.pk)


def test_masks():
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_text("共和新路100弄5号301室") == "共和新路10****"


def test_keyset_pages_cover_every_row_once(db):
    district = f.DistrictFactory()
    for _ in range(25):
        f.StreetFactory(parent=district)
    seen = []
    cursor = None
    while True:
        page = paginate_keyset(Region.objects.filter(parent=district), ordering=("-created_at", "-id"), cursor=cursor, limit=7)
        seen.extend(r.id for r in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(Region.objects.filter(parent=district).values_list("id", flat=True))
    assert len(seen) == len(set(seen)) == 25


def test_cursor_garbage_is_invalid_input():
    with pytest.raises(InvalidInput):
        decode_cursor("!!!not-base64", 2)
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor([1]), 2)


def test_unknown_api_path_answers_the_error_shape(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_expired_and_revoked_tokens_are_refused(db):
    from rest_framework.exceptions import AuthenticationFailed

    from residents import token_cache
    from residents.auth import authenticate_token

    user = f.UserFactory()
    token, raw = ApiToken.issue(user)
    assert authenticate_token(raw)[0] == user
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # Rows changed behind the app's back reach a process's token cache after its window
    # (residents/token_cache.py); this test does not wait that second out.
    token_cache.clear()
    with pytest.raises(AuthenticationFailed) as exc:
        authenticate_token(raw)
    assert exc.value.get_codes() == "token_expired"
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now())
    token_cache.clear()
    with pytest.raises(AuthenticationFailed):
        authenticate_token(raw)
    assert ApiToken.objects.get(pk=token.pk).key_hash != raw


def test_schema_is_served(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_unknown_api_path_is_json_even_in_debug(client, settings):
    settings.DEBUG = True
    assert_error(client.post("/api/v1/nowhere", {}), 404, "not_found")



def _setup_django(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_", "DATABASE_URL", "FIELD_"))}
    env.pop("PUBLIC_BASE_URL", None)
    env.pop("PORT", None)
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings"}, **env_overrides)
    code = "import django; django.setup(); from django.conf import settings; print(settings.PUBLIC_BASE_URL)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_start_without_public_base_url_stops_and_names_it():
    env = dict(PRODUCTION_ENV)
    del env["PUBLIC_BASE_URL"]
    result = _setup_django(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "PUBLIC_BASE_URL is required" in result.stderr


def test_development_public_base_url_follows_the_port_the_server_runs_on():
    result = _setup_django({"DJANGO_DEBUG": "true", "PORT": "8123"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "http://127.0.0.1:8123"
