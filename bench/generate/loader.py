"""Bulk writing for the generator: PostgreSQL COPY, batched INSERTs elsewhere.

Rows are plain tuples with explicit primary keys, so the generator knows every
foreign key without reading back, and `created_at` (auto_now_add) keeps the spread-out
timestamps the generator chose (bulk_create would overwrite them with now()). Model
fields the generator does not name are filled with their default, computed once, so a
field another app adds later does not break the load as long as it has a default.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction

# Rows per transaction. Small enough that deferred FK checks (when they cannot be switched
# off) and WAL stay bounded; large enough that commits are not the cost.
CHUNK = 200_000


class Progress:
    """A plain stderr progress line: label, count/total, rate, elapsed."""

    def __init__(self, label: str, total: int, stream=None) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self.started = self._last = time.monotonic()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= (0.2 if self._tty else 5.0) and self.done < self.total:
            self._last = now
            self._print(end="\r" if self._tty else "\n")

    def _print(self, end: str) -> None:
        elapsed = time.monotonic() - self.started
        pct = min(100.0, 100.0 * self.done / self.total)
        bar = "#" * int(pct // 4)
        rate = self.done / elapsed if elapsed > 0 else 0
        self.stream.write(
            f"  {self.label:22} [{bar:25}] {self.done:>11,}/{self.total:<11,} {pct:5.1f}% {rate:>9,.0f}/s {elapsed:6.1f}s{end}"
        )
        self.stream.flush()

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        self._print(end="\n")
        return elapsed


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class Loader:
    def __init__(self, *, progress_stream=None, quiet: bool = False, defer_indexes: bool = False) -> None:
        self.stream = progress_stream or sys.stderr
        self.quiet = quiet
        self.timings: dict[str, tuple[int, float]] = {}
        self.loaded_models: list[type[models.Model]] = []
        # PostgreSQL: building an index once after the load is several times faster than
        # maintaining it row by row. Indexes that back constraints (pk, unique) stay.
        self.defer_indexes = defer_indexes and is_postgres()
        self.dropped_indexes: list[tuple[str, str]] = []  # (name, CREATE INDEX …)

    def _drop_plain_indexes(self, table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT i.relname, pg_get_indexdef(i.oid)
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                WHERE t.relname = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
                """,
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                self.dropped_indexes.append((name, definition))

    def rebuild_indexes(self) -> None:
        if not self.dropped_indexes:
            return
        progress = None if self.quiet else Progress("indexes", len(self.dropped_indexes), self.stream)
        with connection.cursor() as cursor:
            # Rows loaded with foreign-key checks on leave deferred checks pending until commit,
            # and PostgreSQL refuses CREATE INDEX on a table with pending trigger events (a caller
            # inside a transaction: the tests). Run those checks now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for _name, definition in self.dropped_indexes:
                cursor.execute(definition)
                if progress:
                    progress.add(1)
        if progress:
            self.timings["indexes"] = (len(self.dropped_indexes), progress.finish())
        self.dropped_indexes.clear()

    def _columns(self, model: type[models.Model], fields: Sequence[str]) -> tuple[list[str], tuple, list]:
        """DB columns for the named fields plus every other concrete field filled with its default."""
        named = {}
        for name in fields:
            field = model._meta.get_field(name)
            named[field.attname] = field
        columns = [named[model._meta.get_field(n).attname].column for n in fields]
        converters = [self._converter(model._meta.get_field(n)) for n in fields]
        extra_cols, extra_vals = [], []
        for field in model._meta.concrete_fields:
            if field.attname in named or field.name in fields:
                continue
            if field.primary_key:
                raise ValueError(f"{model.__name__}: the generator must give primary keys explicitly")
            if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                value = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
            elif field.has_default():
                value = field.get_default()
            elif field.null:
                value = None
            elif isinstance(field, (models.CharField, models.TextField)) and field.blank:
                value = ""
            else:
                raise ValueError(
                    f"{model.__name__}.{field.name} has no default: the generator must set it (bench/generate)"
                )
            extra_cols.append(field.column)
            if isinstance(field, models.JSONField):
                extra_vals.append(json.dumps(value, ensure_ascii=False))
            elif isinstance(value, dt.datetime):
                convert = self._converter(field)
                extra_vals.append(convert(value) if convert else value)
            else:
                extra_vals.append(field.get_db_prep_save(value, connection))
        return columns + extra_cols, tuple(extra_vals), converters

    @staticmethod
    def _converter(field: models.Field):
        """How a Python value the generator made becomes a value the driver takes."""
        if isinstance(field, models.JSONField):
            return lambda v: v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        if isinstance(field, models.DateTimeField) and not is_postgres():
            return lambda v: v if v is None or isinstance(v, str) else connection.ops.adapt_datetimefield_value(v)
        if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField) and not is_postgres():
            return lambda v: v if v is None else connection.ops.adapt_datefield_value(v)
        if isinstance(field, models.DecimalField) and not is_postgres():
            return lambda v: v if v is None else str(v)
        return None

    def load(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Iterable[tuple],
        *,
        total: int,
        label: str | None = None,
    ) -> int:
        label = label or model._meta.label
        if self.defer_indexes and model not in self.loaded_models:
            self._drop_plain_indexes(model._meta.db_table)
        columns, extra, converters = self._columns(model, fields)
        conv = [(i, c) for i, c in enumerate(converters) if c is not None]
        progress = None if self.quiet else Progress(label, total, self.stream)
        table = connection.ops.quote_name(model._meta.db_table)
        cols_sql = ", ".join(connection.ops.quote_name(c) for c in columns)
        written = 0

        def prepared():
            for row in rows:
                if conv:
                    row = list(row)
                    for i, c in conv:
                        row[i] = c(row[i])
                    row = tuple(row)
                yield row + extra if extra else row

        if is_postgres():
            # Rows go into COPY as they are made, CHUNK per transaction: the server parses and
            # inserts on the other core while Python makes the next rows (collecting a chunk
            # first left the server idle while Python worked, and Python idle while it waited).
            source = prepared()
            while True:
                n = 0
                with transaction.atomic(), connection.cursor() as cursor:
                    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                    with raw.copy(f"COPY {table} ({cols_sql}) FROM STDIN") as copy:
                        for row in source:
                            copy.write_row(row)
                            n += 1
                            if n >= CHUNK:
                                break
                written += n
                if progress and n:
                    progress.add(n)
                if n < CHUNK:
                    break
        else:
            marks = ", ".join(["%s"] * len(columns))
            batch: list[tuple] = []
            for row in prepared():
                batch.append(row)
                if len(batch) >= 5_000:
                    self._insert(table, cols_sql, marks, batch)
                    written += len(batch)
                    batch.clear()
            if batch:
                self._insert(table, cols_sql, marks, batch)
                written += len(batch)
            if progress and written:
                progress.add(written)
        if progress:
            elapsed = progress.finish()
            self.timings[label] = (written, elapsed)
        if model not in self.loaded_models:
            self.loaded_models.append(model)
        return written

    @staticmethod
    def _insert(table: str, cols_sql: str, marks: str, batch: list[tuple]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({cols_sql}) VALUES ({marks})", batch)

    def reset_sequences(self) -> None:
        """Explicit ids leave PostgreSQL's sequences behind; point them past the max id."""
        statements = connection.ops.sequence_reset_sql(no_style(), self.loaded_models)
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def analyze(self) -> None:
        """Statistics for the planner; outside a transaction also VACUUM, which sets the
        visibility map so index-only scans (the feed's keyset parts) skip the heap."""
        if is_postgres():
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            with connection.cursor() as cursor:
                for model in self.loaded_models:
                    cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")


def skip_fk_checks() -> bool:
    """On PostgreSQL as a superuser, stop FK triggers for this session: the generator's
    rows are consistent by construction and millions of deferred checks would pile up."""
    if not is_postgres():
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        return True
    except Exception:
        return False


def restore_fk_checks() -> None:
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


def any_value(values: Sequence[Any], r) -> Any:
    return values[int(r.random() * len(values))]
