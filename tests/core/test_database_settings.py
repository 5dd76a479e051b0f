"""DATABASE_DISABLE_SERVER_SIDE_CURSORS and DATABASE_PREPARED_STATEMENTS: the switches PgBouncer's
transaction mode needs (docs/deployment.md, "Connection pooling"), read from the environment like
every setting; and prepared statements really reach PostgreSQL when on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

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


PREPARED = (
    "import django; django.setup(); from django.conf import settings; "
    "o = settings.DATABASES['default'].get('OPTIONS', {}); print(o.get('server_side_binding'), o.get('prepare_threshold'))"
)


def _options(**overrides: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_", "DATABASE_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DJANGO_DEBUG="true", DATABASE_URL="postgres://stq@127.0.0.1:1/shequtong", **overrides)
    result = subprocess.run([sys.executable, "-c", PREPARED], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_prepared_statements_are_on_by_default_and_off_behind_an_old_pgbouncer():
    # Django leaves psycopg's preparing off unless OPTIONS gives a threshold: both are needed.
    assert _options() == "True 5"
    assert _options(DATABASE_PREPARED_STATEMENTS="false") == "None None"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db
def test_a_statement_run_often_on_a_connection_is_prepared_by_the_server():
    from residents.models import Region

    if not settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold"):
        pytest.fail("the test run's settings have prepared statements off: this test checks they reach the server")
    for _ in range(8):
        list(Region.objects.filter(code="no-such-code").values_list("pk"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("residents_region" in sql and "$1" in sql for sql in prepared), prepared
