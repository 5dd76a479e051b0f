"""DATABASE_DISABLE_SERVER_SIDE_CURSORS: the switch PgBouncer's transaction mode needs
(docs/deployment.md, "Connection pooling"), read from the environment like every setting."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

CODE = (
    "import django; django.setup(); from django.conf import settings; "
    "db = settings.DATABASES['default']; print(db['DISABLE_SERVER_SIDE_CURSORS'], db['CONN_MAX_AGE'], 'pool' in db.get('OPTIONS', {}))"
)


def _database_settings(**overrides: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="true",
        # Settings only: nothing connects to this address.
        DATABASE_URL="postgres://stq@127.0.0.1:1/shequtong",
        **overrides,
    )
    result = subprocess.run([sys.executable, "-c", CODE], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_server_side_cursors_stay_on_by_default():
    assert _database_settings() == "False 0 True"


def test_behind_pgbouncer_server_side_cursors_go_off_with_the_process_pool():
    assert _database_settings(DATABASE_POOL="false", DATABASE_DISABLE_SERVER_SIDE_CURSORS="true") == "True 0 False"
