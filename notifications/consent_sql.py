"""Set one unused consent aside for each of many recipients of one template, in one statement.

One accept means one push (docs/notifications.md): a message may go only where a consent is
left, and the consent is taken in the transaction that writes the message. The ORM's
`update()` answers how many rows it changed, not which, so the outbox took consents one
recipient at a time: a one-tap create whose staff "new request" template is on wrote one UPDATE
per committee member (issue 20: 6.5 → 14.5 statements, 1.7–1.9× the time of a create without
the push). Here one `UPDATE … WHERE remaining > 0 RETURNING user_id` takes them for all
recipients and says who had one (bench/README.md, "Issue 20", has the figures).

Two messages racing for someone's last consent cannot both get it: on PostgreSQL the second
statement's `SELECT … FOR UPDATE` waits for the first's row lock and re-checks `remaining > 0` on
the row the first wrote (READ COMMITTED), so it skips that recipient; it locks in id order, so
two messages to the same people never deadlock; SQLite runs one writer at a time. Both databases
have RETURNING (SQLite since 3.35). Table and column names come from the model's `_meta`;
tests/notifications/test_consent_sql.py holds the counts equal to what the one-at-a-time
conditional update left, and races two pushes on the last consent.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from notifications.models import SubscribeConsent


def take_one_each(user_ids: list[int], template_id: str, now: dt.datetime) -> set[int]:
    """Decrement `remaining` by one for each user who has one left for `template_id`; return them."""
    if not user_ids:
        return set()
    opts = SubscribeConsent._meta
    table = connection.ops.quote_name(opts.db_table)
    remaining, updated_at, user, template = (
        connection.ops.quote_name(opts.get_field(name).column) for name in ("remaining", "updated_at", "user", "template_id")
    )
    updated = opts.get_field("updated_at").get_db_prep_value(now, connection)
    placeholders = ", ".join(["%s"] * len(user_ids))
    chosen = f"{template} = %s AND {user} IN ({placeholders}) AND {remaining} > 0"
    if connection.features.has_select_for_update:
        # Lock the rows in id order first: an UPDATE locks them in whatever order its plan reads
        # them, and two creates for the same committee whose plans differed (a prepared
        # statement's generic plan beside a custom one) deadlocked (bench/README.md, "Session 9").
        pk = connection.ops.quote_name(opts.pk.column)
        chosen = f"{pk} IN (SELECT {pk} FROM {table} WHERE {chosen} ORDER BY {pk} FOR UPDATE)"
    sql = f"UPDATE {table} SET {remaining} = {remaining} - 1, {updated_at} = %s WHERE {chosen} RETURNING {user}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [updated, template_id, *user_ids])
        return {row[0] for row in cursor.fetchall()}
