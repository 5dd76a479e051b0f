"""Test settings: the embedded defaults, plus whatever DATABASE_URL / REDIS_URL CI sets."""

import os

os.environ.setdefault("SHEQUTONG_EMBEDDED", "true")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
# Tests run tasks inline unless a test drives the db worker explicitly.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "wechat"]}}
