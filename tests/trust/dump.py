"""A raw dump of every table, as an attacker with a database backup would see it."""

from __future__ import annotations

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
    dump = dump_database()
    return [n for n in needles if n and n in dump]
