"""The URL of pytest-django's test database, for server and worker processes a test starts:
they must use the same database as the test that reads their rows."""

from __future__ import annotations

import urllib.parse

from django.db import connection


def shared_database_url() -> str:
    db = connection.settings_dict
    return "postgres://{user}:{password}@{host}:{port}/{name}".format(
        user=urllib.parse.quote(db["USER"] or "postgres"),
        password=urllib.parse.quote(db["PASSWORD"] or ""),
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        name=db["NAME"],
    )
