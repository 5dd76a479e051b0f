"""`field__any=values`: `__in` as one array parameter on PostgreSQL.

Django's `__in` writes a placeholder per value, so a statement over 200 ids is a different, long
string for each list length: psycopg re-parses it on every call (its parse cache keeps short
statements) and Django prepares each value on its own. `= ANY(%s)` is one statement whatever the
length, and its one parameter is adapted in C. Measured in-process on PostgreSQL 15 (the WebSocket
re-check's token query for 200 sockets, notifications/recheck.py): 8.7–12.4 ms per call with
`__in`, 2.4–6.8 ms with `__any`; the batch of 200 sockets as a whole, bench/README.md "Session 12".

On other databases (SQLite) it is `__in`. Values are prepared by the field as `__in` prepares them;
an empty list matches nothing, as `__in` does.
"""

from __future__ import annotations

from django.db.models import Field, ForeignObject, IntegerField
from django.db.models.expressions import ColPairs
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any"

    def get_prep_lookup(self):
        if self.rhs_is_direct_value() and not isinstance(self.lhs, ColPairs) and _integer_column(self.lhs.output_field):
            values = list(self.rhs)
            if all(type(value) is int for value in values):
                return values  # ints for an integer column: nothing to prepare, and no cost per value
        return super().get_prep_lookup()

    def as_sql(self, compiler, connection):
        if (
            connection.vendor != "postgresql"
            or not self.rhs_is_direct_value()
            or isinstance(self.lhs, ColPairs)
            or not self.rhs  # `__in`'s empty result, without a statement
        ):
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = list(self.rhs)
        if not (_integer_column(field) and all(type(value) is int for value in values)):
            values = [
                field.get_db_prep_value(value, connection, prepared=True) for value in values if value is not None
            ]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def _integer_column(field) -> bool:
    target = getattr(field, "target_field", field)  # a foreign key's column is its target's
    return isinstance(target, IntegerField)


@ForeignObject.register_lookup
class RelatedAnyOf(AnyOf, RelatedIn):
    """`user_id__any=ids` / `user__any=ids`: a foreign key's values, prepared as `__in` prepares them."""
