"""The migration linter: what a migration may not do while the previous release serves.

A release is deployed by migrating first and then restarting the processes one by one
(docs/deployment.md), so for a while the *previous* release runs against the *new* schema,
and on PostgreSQL a migration that takes a strong lock on a big table stops every write to
it for as long as it runs. `findings()` walks every migration in the graph, in order, with
the project state as it stood before each operation, and reports:

- `index_locks_big_table`: `AddIndex`, an indexed or unique `AddField`, `AlterField` adding an
  index, or `RunSQL` `CREATE INDEX` without `CONCURRENTLY` on a big table (use
  `core.migration_operations.AddIndexConcurrently` in an `atomic = False` migration);
- `constraint_locks_big_table`: `AddConstraint`, `AlterUniqueTogether` on a big table (a unique
  constraint builds an index under lock; a check constraint scans the table under an ACCESS
  EXCLUSIVE lock; add it `NOT VALID` in `RunSQL`, then `VALIDATE CONSTRAINT` apart);
- `rewrite_locks_big_table`: `AlterField` changing a big table's column type, precision or
  nullability, `RemoveIndex`, and `RunSQL` `ALTER TABLE` on a big table;
- `not_null_without_db_default`: a NOT NULL column added without `db_default` (Django drops
  the Python default from the database, so the previous release's inserts fail), or an
  existing column made NOT NULL (the previous release may still write NULL);
- `breaks_running_release`: `RemoveField`, `DeleteModel`, `RenameField`, `RenameModel`,
  `AlterModelTable` on a table the previous release still reads;
- `concurrent_in_transaction`: a concurrent index operation in an atomic migration.

Tables created earlier in the same migration are empty and exempt. Only `database_operations`
of `SeparateDatabaseAndState` are looked at (state operations touch no table). `RunPython`
is not analysed (docs/deployment.md asks for batches there).

A migration may waive a finding it has made safe another way, naming it with the reason, in
a class attribute: `safety_waivers = {"breaks_running_release": "the release before stopped
reading posts.legacy (community 0007)"}`. tests/core/test_migration_safety.py runs this over
every migration and holds the grandfathering rule for those written before the linter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations import operations as ops
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

# Tables that grow with every resident action: millions of rows in a district within a year
# (bench/README.md's Baoshan scale). Model labels as migrations spell them (app, model_name).
BIG_TABLES = frozenset(
    {
        ("community", "post"),
        ("community", "comment"),
        ("community", "like"),
        ("notifications", "event"),
        ("notifications", "notification"),
        ("notifications", "outboxmessage"),
        ("notifications", "deliveryattempt"),
        ("services", "servicerequest"),
        ("services", "servicerequestevent"),
        ("cases", "case"),
        ("cases", "caseevent"),
        ("matters", "matter"),
        ("residents", "user"),
        ("residents", "membership"),
        ("images", "image"),
        ("core", "idempotencyrecord"),
    }
)

CODES = (
    "index_locks_big_table",
    "constraint_locks_big_table",
    "rewrite_locks_big_table",
    "not_null_without_db_default",
    "breaks_running_release",
    "concurrent_in_transaction",
)

# Field attributes that change the column; the rest (choices, help_text, default, blank,
# validators, on_delete, related_name, verbose_name) live in Python only.
_COLUMN_KWARGS = ("max_digits", "decimal_places", "db_column", "db_collation", "to", "to_field", "primary_key")


@dataclass(frozen=True)
class Finding:
    app: str
    migration: str
    code: str
    message: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.migration)

    def __str__(self) -> str:
        return f"{self.app}.{self.migration}: {self.code}: {self.message}"


def findings(apps: set[str], loader: MigrationLoader | None = None) -> list[Finding]:
    """Every finding of the migrations of `apps` (labels), waived ones left out.

    `initial = True` migrations are not linted: they create tables on an empty database.
    Other apps' migrations still run through the state, so foreign keys resolve.
    """
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    plan = []
    for leaf in loader.graph.leaf_nodes():
        for node in loader.graph.forwards_plan(leaf):
            if node not in plan:
                plan.append(node)
    state = ProjectState(real_apps=loader.unmigrated_apps)
    found: list[Finding] = []
    for key in plan:
        migration = loader.graph.nodes[key]
        if key[0] not in apps or migration.initial:
            for operation in migration.operations:
                operation.state_forwards(migration.app_label, state)
            continue
        found += lint_migration(migration, state)
    return found


def lint_migration(migration, state: ProjectState) -> list[Finding]:
    """The findings of one migration, its waivers applied, moving `state` past it."""
    linter = _MigrationLinter(migration, state)
    for operation in migration.operations:
        linter.check(operation)
        operation.state_forwards(migration.app_label, state)
    waivers = getattr(migration, "safety_waivers", {}) or {}
    bad = [
        Finding(migration.app_label, migration.name, "bad_waiver", f"waiver {code!r} needs a known code and a reason")
        for code, reason in waivers.items()
        if code not in CODES or not str(reason).strip()
    ]
    return bad + [f for f in linter.found if f.code not in waivers]


class _MigrationLinter:
    def __init__(self, migration, state: ProjectState):
        self.migration = migration
        self.app = migration.app_label
        self.state = state
        self.created: set[tuple[str, str]] = set()
        self.found: list[Finding] = []

    def report(self, code: str, message: str) -> None:
        self.found.append(Finding(self.app, self.migration.name, code, message))

    def big(self, model_name: str) -> bool:
        key = (self.app, model_name.lower())
        return key in BIG_TABLES and key not in self.created

    def existing(self, model_name: str) -> bool:
        key = (self.app, model_name.lower())
        return key not in self.created and key in self.state.models

    def check(self, op) -> None:  # noqa: C901 — one branch per operation kind reads best
        if isinstance(op, ops.SeparateDatabaseAndState):
            for inner in op.database_operations:
                self.check(inner)
            return
        if isinstance(op, (AddIndexConcurrently, RemoveIndexConcurrently)):
            if self.migration.atomic:
                self.report("concurrent_in_transaction", f"{type(op).__name__} on {op.model_name} needs atomic = False")
            return
        if isinstance(op, ops.CreateModel):
            self.created.add((self.app, op.name_lower))
        elif isinstance(op, ops.AddIndex) and self.big(op.model_name):
            self.report("index_locks_big_table", f"AddIndex {op.index.name} on {op.model_name}: use AddIndexConcurrently")
        elif isinstance(op, ops.RemoveIndex) and self.big(op.model_name):
            self.report("rewrite_locks_big_table", f"RemoveIndex {op.name} on {op.model_name}: use RemoveIndexConcurrently")
        elif isinstance(op, (ops.AddConstraint, ops.AlterUniqueTogether)) and self.big(op.name if isinstance(op, ops.AlterUniqueTogether) else op.model_name):
            self.report("constraint_locks_big_table", f"{type(op).__name__} on a big table: NOT VALID, then VALIDATE apart")
        elif isinstance(op, ops.AddField) and self.existing(op.model_name):
            self._add_field(op)
        elif isinstance(op, ops.AlterField) and self.existing(op.model_name):
            self._alter_field(op)
        elif isinstance(op, (ops.RemoveField, ops.DeleteModel, ops.RenameField, ops.RenameModel, ops.AlterModelTable)):
            name = op.model_name if hasattr(op, "model_name") else (op.old_name if isinstance(op, ops.RenameModel) else op.name)
            if self.existing(name):
                self.report("breaks_running_release", f"{op.describe()}: the previous release still reads it")
        elif isinstance(op, ops.RunSQL):
            self._run_sql(op)

    def _add_field(self, op) -> None:
        field = op.field
        if field.many_to_many:
            return
        if not field.null and not _has_db_default(field):
            self.report("not_null_without_db_default", f"{op.model_name}.{op.name} is NOT NULL without db_default")
        if self.big(op.model_name) and (field.unique or field.db_index):
            self.report("index_locks_big_table", f"{op.model_name}.{op.name} adds an index: add it unindexed, then AddIndexConcurrently")

    def _alter_field(self, op) -> None:
        old = self.state.models[(self.app, op.model_name_lower)].fields.get(op.name)
        new = op.field
        if old is None:
            return
        if old.null and not new.null:
            self.report("not_null_without_db_default", f"{op.model_name}.{op.name} becomes NOT NULL")
        if not self.big(op.model_name):
            return
        if (new.db_index and not old.db_index) or (new.unique and not old.unique):
            self.report("index_locks_big_table", f"{op.model_name}.{op.name} gains an index or unique constraint")
        _, old_path, _, old_kwargs = old.deconstruct()
        _, new_path, _, new_kwargs = new.deconstruct()
        changed = [k for k in _COLUMN_KWARGS if old_kwargs.get(k) != new_kwargs.get(k)]
        # A longer varchar is a catalogue change on PostgreSQL; a shorter one checks every row.
        narrowed = (new_kwargs.get("max_length") or 0) < (old_kwargs.get("max_length") or 0)
        if old_path != new_path or changed or narrowed:
            self.report("rewrite_locks_big_table", f"{op.model_name}.{op.name} changes its column ({old_path} → {new_path})")

    def _run_sql(self, op) -> None:
        sql = " ".join(_sql_texts(op.sql)).lower()
        for app, model in BIG_TABLES:
            table = f"{app}_{model}"
            if not re.search(rf"\b{table}\b", sql):
                continue
            if re.search(rf"create\s+(unique\s+)?index\s+(?!concurrently)[^;]*\bon\s+\"?{table}\b", sql):
                self.report("index_locks_big_table", f"RunSQL builds an index on {table} without CONCURRENTLY")
            if re.search(rf"alter\s+table\s+(only\s+)?\"?{table}\b(?![^;]*validate\s+constraint)", sql):
                self.report("rewrite_locks_big_table", f"RunSQL alters {table}")


def _has_db_default(field) -> bool:
    from django.db.models import NOT_PROVIDED

    return getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED


def _sql_texts(sql) -> list[str]:
    if isinstance(sql, str):
        return [sql]
    texts = []
    for item in sql or []:
        texts.append(item if isinstance(item, str) else str(item[0]))
    return texts
