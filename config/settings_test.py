"""Test settings: the embedded defaults, plus whatever DATABASE_URL / REDIS_URL CI sets."""

import os

os.environ.setdefault("SHEQUTONG_EMBEDDED", "true")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
# Tests run tasks inline unless a test drives the db worker explicitly.
# The bench app's generator (manage.py generate_district) is tested (tests/scale, tests/console);
# its ceiling endpoint stays unmounted (BENCH is false), tests/scale/urls_with_bench.py mounts it.
if "bench" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS.append("bench")  # noqa: F405
# In-process tests read the token on every request: with the per-process token cache on, whether a
# request reads it would depend on whether the test's previous request was less than a second ago,
# and query counts would flake on a slow machine. tests/residents/test_token_cache.py turns it on;
# the servers of the cross-process tests run with the production default (1 s).
API_TOKEN_CACHE_SECONDS = 0.0
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "wechat"]}}
# SQLite: a file, not the default shared-cache in-memory database. Shared-cache mode answers
# a concurrent writer with SQLITE_LOCKED at once (the busy timeout does not apply), so race
# tests with threads (transaction=True) could not wait for the lock the way PostgreSQL does.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"stq-test-{os.getpid()}.sqlite3")
    }

if "pool" in DATABASES["default"].get("OPTIONS", {}):  # noqa: F405
    # Race tests run up to 50 threads at once, each holding a connection while it waits on a lock.
    DATABASES["default"]["OPTIONS"]["pool"]["max_size"] = 64  # noqa: F405
