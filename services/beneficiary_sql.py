"""The one-tap create's elder lookup: the live elder with their neighborhood, in SQL written once.

`Beneficiary.objects.select_related("neighborhood").filter(…).first()` builds its query (the
join, the filter, the ordering) anew on every create. In-process on PostgreSQL, the ORM lookup
made a one-tap create 14.0 %, 15.7 % and 23.5 % slower than this statement in three runs of
bench/raw_sql_gain.py (medians of 400–600 creates, every variant in the same run; the same
code timed twice differed by −2.1 %, +7.0 % and +0.9 %); bench/README.md, "Raw SQL, measured".
Issue 16 keeps hand-written SQL only where it is worth ≥ 10 % on its endpoint's row: the
request-and-event INSERT and the idempotency record's INSERT were not, and went.

The statement is built once per lookup kind from the models (`_meta`: table and column names),
and returns what the ORM lookup returns (tests/services/test_beneficiary_sql.py holds the two
equal): the elder, and as `neighborhood` a Region with the fields the create reads (id, level,
parent, name); any other field loads on access, as a deferred field does.
"""

from __future__ import annotations

from functools import cache

from residents.models import Beneficiary, Region

# The neighborhood's fields the create reads, carried in the elder's row (as n_<attname>).
_NEIGHBORHOOD_FIELDS = ("id", "level", "parent", "name")


def live_beneficiary(*, pk: int | None = None, default_of: int | None = None) -> Beneficiary | None:
    """The elder `pk`, or the default elder of the user `default_of`, unless removed; with their
    neighborhood. Exactly one of the two is given."""
    if (pk is None) == (default_of is None):
        raise TypeError("live_beneficiary: give pk or default_of")
    by_owner = pk is None
    found = next(iter(Beneficiary.objects.raw(_sql(by_owner), [default_of if by_owner else pk])), None)
    if found is None:
        return None
    # In the model's field order, as from_db maps values to the fields it is given.
    names = [f.attname for f in Region._meta.concrete_fields if f.name in _NEIGHBORHOOD_FIELDS]
    values = [getattr(found, f"n_{name}") for name in names]
    # Model.from_db is Django's documented hook for making an instance from a row: the fields
    # not given are deferred, so reading one loads it rather than answering a default.
    found.neighborhood = Region.from_db(found._state.db, names, values)
    return found


def _column(model, name: str) -> str:
    return model._meta.get_field(name).column


@cache
def _sql(by_owner: bool) -> str:
    pk, owner, is_default, deleted_at, neighborhood = (
        _column(Beneficiary, name) for name in ("id", "owner", "is_default", "deleted_at", "neighborhood")
    )
    where = f"b.{owner} = %s AND b.{is_default}" if by_owner else f"b.{pk} = %s"
    carried = ", ".join(
        f"n.{Region._meta.get_field(name).column} AS n_{Region._meta.get_field(name).attname}"
        for name in _NEIGHBORHOOD_FIELDS
    )
    return (
        f"SELECT b.*, {carried} FROM {Beneficiary._meta.db_table} b"
        f" JOIN {Region._meta.db_table} n ON n.{_column(Region, 'id')} = b.{neighborhood}"
        f" WHERE {where} AND b.{deleted_at} IS NULL ORDER BY b.{pk} LIMIT 1"
    )
