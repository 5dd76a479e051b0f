"""do_notify writes the same rows and broadcasts the same events whether it takes the one-statement
path (PostgreSQL, notifications.inbox_sql) or the ORM path (every database), for every shape of
call: recipient lists with repeats and None, role holders, a re-notification that skips who
already has it, the caller's own events, long titles, and a kind with a subscribe template."""

from __future__ import annotations

import pytest
from django.db import connection

from notifications import actions, inbox_sql
from notifications.actions import do_notify
from notifications.inbox_sql import RoleHolders
from notifications.models import Event, Notification, OutboxMessage
from residents.models import Role
from tests import factories as f
from tests.notifications.conftest import give_consents

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's; elsewhere both are the ORM"
    ),
]


def _broadcasts(monkeypatch) -> list:
    sent: list = []
    monkeypatch.setattr("notifications.realtime._broadcast_many", lambda messages: sent.extend(messages))
    return sent


def _calls(neighborhood, staff, resident, other):
    """(label, do_notify kwargs without event_key); each runs twice, once per path."""
    board = {"id": 7, "status": "submitted", "due": "2026-11-27T10:00:00+08:00", "flag": True}
    return [
        ("list", {"recipients": [staff, resident.pk, None, staff.pk, other], "kind": "x", "title": "题" * 80,
                  "body": "文" * 600, "page": "pages/x?id=1", "data": {"n": 1, "s": "中"}}),
        ("list, caller's events", {"recipients": [resident, other], "kind": "x", "title": "t",
                                   "also_publish": [(f"staff.neighborhood.{neighborhood.pk}", "thing.created", board),
                                                    ("staff.street.1", "thing.created", board)]}),
        ("role holders, fresh", {"recipients": RoleHolders(neighborhood.pk, Role.Kind.COMMITTEE_STAFF), "kind": "y",
                                 "title": "新申请", "fresh": True, "data": {"service_request_id": 3},
                                 "also_publish": [("staff.street.9", "thing.created", board)]}),
        ("role holders, not fresh", {"recipients": RoleHolders(neighborhood.pk, Role.Kind.COMMITTEE_STAFF),
                                     "kind": "y", "title": "再来"}),
        ("nobody", {"recipients": [None], "kind": "x", "title": "t", "also_publish": [("s.1", "e", {"a": 1})]}),
        ("templated", {"recipients": [resident, other], "kind": "service_request_status", "title": "已受理",
                       "data": {"status_label": "已受理"}}),
    ]


def _rows(key: str, before_event: int, before_note: int) -> tuple[list, list, list]:
    notes = list(
        Notification.objects.filter(event_key=key, id__gt=before_note).order_by("id").values_list(
            "id", "recipient_id", "kind", "title", "body", "page", "data", "event_key", "read_at"
        )
    )
    ids = {row[0]: i for i, row in enumerate(notes)}
    events = []
    for stream, type, payload in Event.objects.filter(id__gt=before_event).order_by("id").values_list(
        "stream", "type", "payload"
    ):
        if "notification_id" in payload:  # ids differ between the runs; their order must not
            payload = {**payload, "notification_id": ids[payload["notification_id"]]}
        events.append((stream, type, payload))
    outbox = list(
        OutboxMessage.objects.filter(event_key=key).order_by("id").values_list(
            "recipient_id", "kind", "openid", "template_id", "page", "data", "status", "consent_reserved"
        )
    )
    return [row[1:] for row in notes], events, outbox


def test_both_paths_write_and_broadcast_the_same(db, monkeypatch, neighborhood, template,
                                                 django_capture_on_commit_callbacks):
    staff = f.staff(neighborhood)
    second_staff = f.staff(neighborhood)
    resident, other = f.resident(neighborhood), f.resident(neighborhood)
    give_consents(resident, 1)
    # Already has the "not fresh" notice, so only the others get it.
    Notification.objects.create(recipient=second_staff, kind="y", title="再来", event_key="orm:role holders, not fresh")
    Notification.objects.create(recipient=second_staff, kind="y", title="再来", event_key="sql:role holders, not fresh")
    sent = _broadcasts(monkeypatch)
    for label, kwargs in _calls(neighborhood, staff, resident, other):
        results = {}
        for path in ("orm", "sql"):
            monkeypatch.setattr(inbox_sql, "available", lambda p=path: p == "sql")
            give_consents(resident, 1)
            before_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
            before_note = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
            sent.clear()
            key = f"{path}:{label}"
            with django_capture_on_commit_callbacks(execute=True):
                returned = do_notify(event_key=key, **kwargs)
            notes, events, outbox = _rows(key, before_event, before_note)
            event_ids = list(Event.objects.filter(id__gt=before_event).order_by("id").values_list("id", flat=True))
            # What went out on the wire is what was logged, with the logged ids, in order.
            assert [m["id"] for _s, m in sent] == event_ids, (label, path)
            assert [(m["stream"], m["event"]) for _s, m in sent] == [(s, t) for s, t, _p in events], (label, path)
            assert [(n.recipient_id, n.title, n.body, n.data) for n in returned] == [
                (row[0], row[2], row[3], row[5]) for row in notes
            ], (label, path)
            results[path] = (
                [row[:6] + row[7:] for row in notes],  # all but the event key, which names the path
                events,
                outbox,
                [{**m["payload"], "notification_id": 0} if "notification_id" in m["payload"] else m["payload"]
                 for _s, m in sent],
            )
        assert results["sql"] == results["orm"], label
        assert results["sql"][0] or label == "nobody", label


def test_a_fresh_notice_to_role_holders_is_one_statement(db, neighborhood, django_assert_num_queries):
    for _ in range(3):
        f.staff(neighborhood)
    with django_assert_num_queries(2):  # the statement, and the template lookup
        created = do_notify(
            recipients=RoleHolders(neighborhood.pk, Role.Kind.COMMITTEE_STAFF), kind="z", title="t", event_key="k",
            fresh=True, also_publish=[("s", "e", {})],
        )
    assert len(created) == 3 and Event.objects.count() == 4
    assert actions.inbox_sql.available()
