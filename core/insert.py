"""Rows written with SQL made once per model: one row, or a row and the first row that points at it.

`Model.save()` twice is two round trips, each with the ORM's statement compilation: on the
one-tap create, a request and its "created" timeline event. On PostgreSQL `insert_pair` sends
one `WITH parent AS (INSERT … RETURNING id) INSERT … SELECT … FROM parent`; elsewhere it saves
both with the ORM. Values go through the same field methods the ORM's INSERT uses (`pre_save`
for auto_now and defaults, `get_db_prep_save` for encryption and JSON), so the rows are the
ones `save()` writes (tests/services/test_insert_pair.py). No signals are sent: use it only for models
nothing listens to.

`insert_one` is `save()` for a new row without the ORM's query building (the idempotency record
every one-tap create writes: the ORM spent more on building that INSERT than on sending it).
"""

from __future__ import annotations

import re
from functools import cache

from django.db import connection, models


def insert_pair(parent: models.Model, child: models.Model, fk: str) -> None:
    """Save the unsaved `parent`, then `child` with its `fk` (a ForeignKey's name) set to it;
    both get their primary keys."""
    if connection.vendor != "postgresql":
        parent.save(force_insert=True)
        setattr(child, fk, parent)
        child.save(force_insert=True)
        return
    parent_fields = _fields(type(parent), None)
    child_fields = _fields(type(child), fk)
    params = [_value(parent, f) for f in parent_fields] + [_value(child, f) for f in child_fields]
    with connection.cursor() as c:
        c.execute(_sql(type(parent), type(child), fk), params)
        parent_id, child_id = c.fetchone()
    parent.pk = parent_id
    parent._state.adding, parent._state.db = False, connection.alias
    setattr(child, fk, parent)
    child.pk = child_id
    child._state.adding, child._state.db = False, connection.alias


def insert_one(obj: models.Model) -> None:
    """INSERT the unsaved `obj` (any database); it gets its primary key."""
    fields = _fields(type(obj), None)
    with connection.cursor() as c:
        c.execute(_one_sql(connection.vendor, type(obj)), [_value(obj, f) for f in fields])
        obj.pk = c.fetchone()[0]
    obj._state.adding, obj._state.db = False, connection.alias


@cache
def _one_sql(vendor: str, model: type[models.Model]) -> str:
    q = connection.ops.quote_name
    fields = _fields(model, None)
    return (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {q(model._meta.pk.column)}"
    )


def _value(obj: models.Model, field: models.Field):
    return field.get_db_prep_save(field.pre_save(obj, add=True), connection=connection)


@cache
def _fields(model: type[models.Model], fk: str | None) -> list[models.Field]:
    fields = []
    for field in model._meta.concrete_fields:
        if field.primary_key or (fk is not None and field.name == fk):
            continue
        if field.generated or field.has_db_default():
            raise TypeError(f"core.insert: {model.__name__}.{field.name} is filled by the database")
        fields.append(field)
    return fields


@cache
def _sql(parent: type[models.Model], child: type[models.Model], fk: str) -> str:
    q = connection.ops.quote_name
    parent_cols = ", ".join(q(f.column) for f in _fields(parent, None))
    child_cols = ", ".join(q(f.column) for f in _fields(child, fk))
    parent_values = ", ".join(["%s"] * len(_fields(parent, None)))
    child_values = ", ".join(f"%s::{_cast_type(f)}" for f in _fields(child, fk))
    return (
        f"WITH parent AS (INSERT INTO {q(parent._meta.db_table)} ({parent_cols}) "
        f"VALUES ({parent_values}) RETURNING {q(parent._meta.pk.column)}) "
        f"INSERT INTO {q(child._meta.db_table)} ({q(child._meta.get_field(fk).column)}, {child_cols}) "
        f"SELECT parent.{q(parent._meta.pk.column)}, {child_values} FROM parent "
        f"RETURNING {q(child._meta.get_field(fk).column)}, {q(child._meta.pk.column)}"
    )


def _cast_type(field: models.Field) -> str:
    """The child's values are typed, since in a SELECT list an untyped literal (a NULL, say) is
    taken for text; but without a length, as a cast to varchar(n) would cut a long string where
    the INSERT refuses it."""
    return re.sub(r"^(varchar|char)\(\d+\)$", r"\1", field.cast_db_type(connection))
