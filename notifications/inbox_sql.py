"""do_notify's writes as one PostgreSQL statement: the inbox rows and every realtime event.

The ORM writes the inbox rows, reads their ids back, then writes the `user.<id>` events that
carry those ids (and the caller's own events): two round trips, plus a query for the
recipients when they are "whoever holds this role here". Here one statement with two
data-modifying CTEs does all of it — the recipients are read inside it, the events' payloads
are built from the inbox rows' RETURNING — and returns the new ids. The rows are the ones the
ORM path writes (tests/notifications/test_inbox_sql.py holds the two equal); other databases
take the ORM path.

Events are numbered in the order the ORM path writes them: the caller's first, then one per
inbox row in the inbox rows' id order.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from psycopg.types.json import Jsonb

from residents import roles


@dataclass(frozen=True)
class RoleHolders:
    """Recipients named by role: everyone who holds `kind` in `region_id` when the notice is written."""

    region_id: int
    kind: str

    def user_ids(self) -> list[int]:
        return roles.holder_ids(self.region_id, self.kind)


def notice_event(notification_id: int, recipient_id: int, kind: str, title: str, page: str) -> tuple[str, str, dict]:
    """The realtime event that announces an inbox row on its recipient's stream: (stream, type,
    payload). The one-statement INSERT below builds the same payload in SQL."""
    return (
        f"user.{recipient_id}",
        "notification.created",
        {"notification_id": notification_id, "kind": kind, "title": title, "page": page},
    )


def available() -> bool:
    return connection.vendor == "postgresql"


def _dumps(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


@dataclass
class Written:
    notifications: list[tuple[int, int]]  # (id, recipient_id), in id order
    events: list[tuple[int, str, str, dict[str, Any]]]  # (id, stream, type, payload), in id order


def insert(
    *,
    recipients: list[int] | RoleHolders,
    kind: str,
    title: str,
    body: str,
    page: str,
    data: dict[str, Any],
    event_key: str,
    also_publish: list[tuple[str, str, dict[str, Any]]],
    now: dt.datetime,
) -> Written:
    """Write the inbox rows for `recipients` (ids in order, or role holders in user-id order)
    and their events after `also_publish`'s, in one statement. Title and body come cut to size."""
    by_role = isinstance(recipients, RoleHolders)
    if by_role:
        who: list[Any] = [recipients.region_id, recipients.kind]
    else:
        who = [recipients]
    params = [
        kind, title, body, page, Jsonb(data, dumps=_dumps), event_key, now, *who,
        now,
        [stream for stream, _t, _p in also_publish],
        [type for _s, type, _p in also_publish],
        [Jsonb(payload, dumps=_dumps) for _s, _t, payload in also_publish],
        len(also_publish), kind, title, page,
    ]
    with connection.cursor() as c:
        c.execute(_sql(by_role), params)
        rows = c.fetchall()
    notifications = sorted((row_id, recipient_id) for tag, row_id, recipient_id in rows if tag == "n")
    event_ids = sorted(row_id for tag, row_id, _r in rows if tag == "e")
    messages = [*also_publish, *(notice_event(n_id, user_id, kind, title, page) for n_id, user_id in notifications)]
    return Written(
        notifications=notifications,
        events=[(event_id, stream, type, payload) for event_id, (stream, type, payload) in zip(event_ids, messages, strict=True)],
    )


@cache
def _sql(by_role: bool) -> str:
    if by_role:
        recipients = f"({roles.holder_ids_sql()}) AS r ORDER BY r.user_id"
    else:
        recipients = "unnest(%s::bigint[]) WITH ORDINALITY AS r(user_id, o) ORDER BY r.o"
    return f"""
WITH inbox AS (
    INSERT INTO notifications_notification (recipient_id, kind, title, body, page, data, event_key, created_at, read_at)
    SELECT r.user_id, %s, %s, %s, %s, %s, %s, %s, NULL
    FROM {recipients}
    RETURNING id, recipient_id
), published AS (
    INSERT INTO notifications_event (stream, type, payload, created_at)
    SELECT e.stream, e.type, e.payload, %s FROM (
        SELECT a.o, a.stream, a.type, a.payload
        FROM unnest(%s::varchar[], %s::varchar[], %s::jsonb[]) WITH ORDINALITY AS a(stream, type, payload, o)
        UNION ALL
        SELECT %s + row_number() OVER (ORDER BY inbox.id), 'user.' || inbox.recipient_id, 'notification.created',
               jsonb_build_object('notification_id', inbox.id, 'kind', %s::text, 'title', %s::text, 'page', %s::text)
        FROM inbox
    ) AS e
    ORDER BY e.o
    RETURNING id
)
SELECT 'n', id, recipient_id FROM inbox
UNION ALL
SELECT 'e', id, NULL FROM published
"""
