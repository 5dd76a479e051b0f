"""A raw dump of every table, as an attacker with a database backup would see it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from django.db import connection


def dump_database() -> str:
    """Every value of every row of every table, via plain SQL (SQLite and PostgreSQL alike)."""
    qn = connection.ops.quote_name
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {qn(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value).decode("utf-8", "replace")
                    parts.append(str(value))
    return "\n".join(parts)


def plaintexts_found(needles: list[str]) -> list[str]:
    """Needles in the dump as written, or as a JSON column keeps them (non-ASCII as \\uXXXX)."""
    dump = dump_database()
    return [n for n in needles if n and (n in dump or json.dumps(n)[1:-1] in dump)]


PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"


def raw_database_dump() -> str:
    """What a stolen backup holds, made by the database's own tool rather than by our queries:
    `pg_dump` of the test database on PostgreSQL (committed rows: use a transactional test);
    on SQLite the connection's own SQL dump (`iterdump`, which also sees this connection's
    uncommitted rows) plus the raw bytes of the database file and its WAL."""
    if connection.vendor == "postgresql":
        params = connection.get_connection_params()
        binary = PG_DUMP if os.path.exists(PG_DUMP) else shutil.which("pg_dump")
        assert binary, "pg_dump is needed to dump the PostgreSQL test database"
        env = {**os.environ}
        if params.get("password"):
            env["PGPASSWORD"] = str(params["password"])
        command = [binary, "--no-owner", "--dbname", params.get("dbname") or connection.settings_dict["NAME"]]
        for flag, key in (("--host", "host"), ("--port", "port"), ("--username", "user")):
            if params.get(key):
                command += [flag, str(params[key])]
        done = subprocess.run(command, env=env, capture_output=True, timeout=120, check=True)
        return done.stdout.decode("utf-8", "replace")
    assert connection.vendor == "sqlite"
    connection.ensure_connection()
    parts = list(connection.connection.iterdump())
    name = str(connection.settings_dict["NAME"])
    assert os.path.exists(name), f"the SQLite test database must be a file, not {name!r}"
    for path in (name, f"{name}-wal"):
        if os.path.exists(path):
            with open(path, "rb") as raw:
                parts.append(raw.read().decode("utf-8", "replace"))
    return "\n".join(parts)


def cache_dump() -> str:
    """Every value in the default cache: locmem's pickles, or every key of the Redis database."""
    from django.core.cache import cache

    parts: list[str] = []
    store = getattr(cache, "_cache", None)
    if isinstance(store, dict):  # LocMemCache
        for key, value in store.items():
            parts += [str(key), bytes(value).decode("utf-8", "replace") if isinstance(value, bytes) else repr(value)]
        return "\n".join(parts)
    client = cache._cache.get_client(write=False)
    for key in client.scan_iter(count=1000):
        parts.append(key.decode("utf-8", "replace"))
        if client.type(key) == b"string":
            parts.append(client.get(key).decode("utf-8", "replace"))
    return "\n".join(parts)
