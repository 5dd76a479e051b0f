"""Backup and restore as docs/backup.md tells an operator to do it, then read back over HTTP.

A resident binds an encrypted phone, registers an elder (encrypted phone, address, health
notes) and posts a photo, all through the API. The database is backed up with the tool the
runbook names — `pg_dump -Fc` on PostgreSQL, SQLite's online backup API on SQLite — and
restored into a place that has never seen it (a fresh `initdb` cluster; a new file), the
media directory is copied, and a separate server process started on the restored copy with
the same field keys answers the resident's bearer token with the same decrypted fields and
serves the same photo bytes. The original database is emptied first, so nothing can come
from it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from bench.stack import PGBIN, Stack, free_port
from tests import factories as f
from tests.community.conftest import jpeg_bytes

ROOT = Path(__file__).resolve().parents[2]
ELDER = {
    "name": "王阿婆", "relation": "母亲", "birth_year": 1938, "mobility": "assisted",
    "phone": "13700001111", "address": "宝林一村5号楼301室", "health_notes": "高血压，青霉素过敏",
}


@pytest.fixture
def on_postgresql():
    """Before anything is written: the variant for the database this run has."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump/pg_restore need PostgreSQL (DATABASE_URL); the SQLite pass runs the SQLite variant")


@pytest.fixture
def on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite backup API applies to SQLite; the PostgreSQL pass runs the pg_dump variant")


@pytest.fixture
def populated(transactional_db, api_for, neighborhood, wechat_standin):
    """Rows written through the API, committed; what the resident saw, to compare after restore."""
    zhangsan = f.resident(neighborhood)
    api = api_for(zhangsan)
    for purpose in ("phone", "address", "health"):
        assert api.post("/api/v1/me/consents", {"purpose": purpose, "text_version": "v1"}).status_code == 201
    assert api.post("/api/v1/me/phone", {"code": "phone-13912345678-backup"}).status_code == 200
    elder = api.post("/api/v1/beneficiaries", ELDER)
    assert elder.status_code == 201, elder.content
    upload = api.client.post(
        "/api/v1/images", {"file": SimpleUploadedFile("p.jpg", jpeg_bytes(size=(64, 48)), content_type="image/jpeg")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    post = api.post(
        "/api/v1/posts",
        {"neighborhood_id": neighborhood.id, "section": "neighbors", "title": "楼道灯坏了", "body": "3号楼2楼",
         "image_ids": [upload.json()["id"]]},
    )
    assert post.status_code == 201, post.content
    seen = {
        "me": api.get("/api/v1/me").json(),
        "elder": api.get(f"/api/v1/beneficiaries/{elder.json()['id']}").json(),
        "post": api.get(f"/api/v1/posts/{post.json()['id']}").json(),
    }
    assert seen["me"]["phone_masked"] == "139****5678"
    assert seen["elder"]["health_notes"] == ELDER["health_notes"]
    image_url = seen["post"]["images"][0]["url"]
    with open(Path(settings.MEDIA_ROOT) / image_url.split("/media/", 1)[1], "rb") as stored:
        photo = stored.read()
    token = api.client._credentials["HTTP_AUTHORIZATION"]
    return {"token": token, "seen": seen, "photo": photo, "image_url": image_url}


def _empty_the_original() -> None:
    call_command("flush", "--noinput", verbosity=0)


def _serve(stack: Stack, database_url: str, media_root: Path) -> str:
    """A server process of its own on the restored copy: the keys from this run, nothing else shared."""
    port = free_port(stack.ports)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_", "DATABASE_", "REDIS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "true",  # serves /media/ itself, as `make run` does
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "DATABASE_URL": database_url,
            "DATABASE_POOL": "false",
            "MEDIA_ROOT": str(media_root),
            "PYTHONUNBUFFERED": "1",
        }
    )
    stack.spawn("restored", [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return base
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise AssertionError("the server on the restored copy did not answer: " + stack.tail("restored"))


def _reads_back(base: str, populated: dict) -> None:
    headers = {"Authorization": populated["token"]}
    seen = populated["seen"]
    me = requests.get(f"{base}/api/v1/me", headers=headers, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["phone_masked"] == seen["me"]["phone_masked"] == "139****5678"
    elder = requests.get(f"{base}/api/v1/beneficiaries/{seen['elder']['id']}", headers=headers, timeout=10).json()
    for field in ("phone", "address", "health_notes", "name"):
        assert elder[field] == seen["elder"][field], field
    assert elder["health_notes"] == ELDER["health_notes"]
    post = requests.get(f"{base}/api/v1/posts/{seen['post']['id']}", headers=headers, timeout=10).json()
    assert post["images"][0]["url"] == populated["image_url"]
    path = populated["image_url"].split("/media/", 1)[1]
    photo = requests.get(f"{base}/media/{path}", timeout=10)
    assert photo.status_code == 200 and photo.content == populated["photo"]


def _copy_media(workdir: Path) -> Path:
    target = workdir / "media"
    shutil.copytree(settings.MEDIA_ROOT, target)
    return target


@pytest.mark.postgres
@pytest.mark.slow
def test_pg_dump_restored_into_a_fresh_cluster_serves_the_encrypted_fields_and_the_photo(on_postgresql, populated):
    params = connection.get_connection_params()
    stack = Stack()
    try:
        dump = stack.workdir / "shequtong.dump"
        source = ["--host", str(params.get("host") or "127.0.0.1"), "--port", str(params.get("port") or 5432),
                  "--username", str(params.get("user") or "postgres")]
        env = {**os.environ, **({"PGPASSWORD": str(params["password"])} if params.get("password") else {})}
        subprocess.run([str(PGBIN / "pg_dump"), "--format=custom", "--no-owner", *source,
                        "--dbname", params["dbname"], "--file", str(dump)], env=env, check=True, timeout=300)
        media = _copy_media(stack.workdir)
        _empty_the_original()

        restored_url = stack.start_postgres(small=True)  # initdb, start, createdb shequtong
        subprocess.run([str(PGBIN / "pg_restore"), "--no-owner", "--exit-on-error", "--host", "127.0.0.1",
                        "--port", str(stack.pg_port), "--username", "postgres", "--dbname", "shequtong", str(dump)],
                       check=True, timeout=300, capture_output=True)
        _reads_back(_serve(stack, restored_url, media), populated)
    finally:
        stack.stop()
        shutil.rmtree(stack.workdir, ignore_errors=True)


@pytest.mark.slow
def test_sqlite_online_backup_copied_elsewhere_serves_the_encrypted_fields_and_the_photo(on_sqlite, populated):
    workdir = Path(tempfile.mkdtemp(prefix="stq-backup."))
    stack = Stack(workdir=workdir)
    try:
        backup = workdir / "shequtong.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(backup) as target:
            connection.connection.backup(target)  # consistent while the server keeps writing (WAL)
        target.close()
        media = _copy_media(workdir)
        _empty_the_original()
        _reads_back(_serve(stack, f"sqlite:///{backup}", media), populated)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
