"""Test settings: the embedded defaults, plus whatever DATABASE_URL / REDIS_URL CI sets."""

import os

os.environ.setdefault("SHEQUTONG_EMBEDDED", "true")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
# Tests run tasks inline unless a test drives the db worker explicitly.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "wechat"]}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the shared-cache in-memory database: with shared cache a second connection
    # gets "database table is locked" at once instead of waiting its turn, so tests that race
    # two threads (transaction=True) could not show the real one-wins-one-waits behaviour.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}  # noqa: F405
