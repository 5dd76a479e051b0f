"""Migration operations that do not stop a district: index builds that let writes go on.

On PostgreSQL `CREATE INDEX` holds a SHARE lock on the table for the whole build, so every
insert and update waits: minutes on a table of millions of posts or events. `CREATE INDEX
CONCURRENTLY` builds without that lock, but cannot run inside a transaction, so a migration
using these operations sets `atomic = False` (and holds nothing else that needs one).

Django's own `AddIndexConcurrently` speaks PostgreSQL only; the suite and `make run` also run
on SQLite, where these fall back to the plain operation (an SQLite database has one writer
anyway). `core/migration_safety.py` refuses a plain `AddIndex` on a big table.
"""

from __future__ import annotations

from django.contrib.postgres import operations as pg
from django.db.migrations.operations import AddIndex, RemoveIndex

__all__ = ["AddIndexConcurrently", "RemoveIndexConcurrently"]


class AddIndexConcurrently(pg.AddIndexConcurrently):
    """`CREATE INDEX CONCURRENTLY` on PostgreSQL; `AddIndex` elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrently(pg.RemoveIndexConcurrently):
    """`DROP INDEX CONCURRENTLY` on PostgreSQL; `RemoveIndex` elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
