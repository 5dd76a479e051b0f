"""Consents set aside for all recipients of a message in one statement (notifications/consent_sql.py):
the same counts the one-at-a-time conditional update left, one UPDATE however many recipients,
and two pushes racing for a last consent never both spend it (real threads and transactions;
on PostgreSQL in the suite's postgres leg)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import consent_sql
from notifications.actions import do_notify
from notifications.models import OutboxMessage, SubscribeConsent
from tests import factories as f
from tests.notifications.conftest import TEMPLATE_ID, give_consents
from tests.races import race


def _one_at_a_time(user_ids: list[int], template_id: str) -> set[int]:
    """What the outbox did before: one conditional decrement per recipient."""
    return {
        user_id
        for user_id in user_ids
        if SubscribeConsent.objects.filter(user_id=user_id, template_id=template_id, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
    }


def _counts() -> dict[tuple[int, str], int]:
    return {(c.user_id, c.template_id): c.remaining for c in SubscribeConsent.objects.all()}


def test_one_statement_leaves_what_one_at_a_time_left(db):
    users = [f.UserFactory() for _ in range(6)]
    for user, count in zip(users, [0, 1, 3, 1, 0, 2], strict=True):
        give_consents(user, count)
        give_consents(user, 5, template_id="another-template")  # another template is not touched
    ids = [u.pk for u in users] + [f.UserFactory().pk]  # and one with no consent row at all
    snapshot = _counts()
    with transaction.atomic():  # what the old way leaves, then undone
        expected_taken = _one_at_a_time(ids, TEMPLATE_ID)
        expected = _counts()
        transaction.set_rollback(True)
    assert _counts() == snapshot != expected
    before = SubscribeConsent.objects.get(user=users[2], template_id=TEMPLATE_ID).updated_at
    taken = consent_sql.take_one_each(ids, TEMPLATE_ID, timezone.now())
    assert taken == expected_taken == {users[1].pk, users[2].pk, users[3].pk, users[5].pk}
    assert _counts() == expected
    assert SubscribeConsent.objects.get(user=users[2], template_id=TEMPLATE_ID).updated_at > before
    assert consent_sql.take_one_each([], TEMPLATE_ID, timezone.now()) == set()


def test_a_message_to_many_sets_consents_aside_in_one_statement(template):
    staff = [f.UserFactory() for _ in range(8)]
    for i, user in enumerate(staff):
        give_consents(user, i % 2)  # half of them have one left
    with CaptureQueriesContext(connection) as ctx:
        do_notify(recipients=staff, kind="service_request_status", title="新申请", data={"status_label": "待受理"},
                  event_key="test:many")
    consent_updates = [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE") and "consent" in q["sql"]]
    assert len(consent_updates) == 1
    messages = {m.recipient_id: m for m in OutboxMessage.objects.all()}
    for i, user in enumerate(staff):
        reserved = i % 2 == 1
        assert messages[user.pk].consent_reserved is reserved
        assert messages[user.pk].status == (OutboxMessage.Status.PENDING if reserved else OutboxMessage.Status.SKIPPED_NO_CONSENT)
    assert set(SubscribeConsent.objects.values_list("remaining", flat=True)) == {0}


@pytest.mark.django_db(transaction=True)
def test_two_pushes_racing_for_the_last_consent_spend_it_once():
    """The first takes the consent and holds its transaction open while the second's UPDATE runs:
    the second waits for the lock and, re-checking remaining > 0, finds none left."""
    user, colleague = f.UserFactory(), f.UserFactory()
    give_consents(user, 1)
    give_consents(colleague, 2)
    first_took = threading.Event()

    def first():
        with transaction.atomic():
            taken = consent_sql.take_one_each([user.pk, colleague.pk], TEMPLATE_ID, timezone.now())
            first_took.set()
            time.sleep(0.3)  # the second's UPDATE is now waiting for these rows
            return taken

    def second():
        first_took.wait(timeout=5)
        with transaction.atomic():
            return consent_sql.take_one_each([colleague.pk, user.pk], TEMPLATE_ID, timezone.now())

    one, two = race([first, second])
    assert one == {user.pk, colleague.pk} and two == {colleague.pk}
    assert SubscribeConsent.objects.get(user=user).remaining == 0
    assert SubscribeConsent.objects.get(user=colleague).remaining == 0


@pytest.mark.django_db(transaction=True)
def test_many_pushes_to_the_same_people_in_any_order_never_deadlock():
    """Creates in one neighborhood push to the same committee at once, each listing the members in
    its own order: the rows are locked in id order, so no two statements wait on each other in a
    cycle (PostgreSQL answered "deadlock detected" to the load benchmark before)."""
    import random

    users = [f.UserFactory() for _ in range(8)]
    for user in users:
        give_consents(user, 400)
    ids = [u.pk for u in users]
    # Rows on disk in the reverse of their id order, and half the pushers reading them by index,
    # half in disk order: the two plans a prepared statement and a fresh one may take.
    for user_id in reversed(ids):
        SubscribeConsent.objects.filter(user_id=user_id).update(remaining=F("remaining"))
    plans = ["SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off"]

    def pusher(seed: int):
        def run():
            rng = random.Random(seed)
            taken = 0
            for _ in range(15):
                order = ids[:]
                rng.shuffle(order)
                with transaction.atomic():
                    if connection.vendor == "postgresql":
                        with connection.cursor() as cursor:
                            cursor.execute(plans[seed % 2])
                            cursor.execute("SET LOCAL enable_bitmapscan = off")
                    taken += len(consent_sql.take_one_each(order, TEMPLATE_ID, timezone.now()))
                    time.sleep(0.002)  # hold the locks a moment, as the create's transaction does
            return taken

        return run

    results = race([pusher(seed) for seed in range(6)])
    assert results == [15 * len(ids)] * 6
    assert {c.remaining for c in SubscribeConsent.objects.filter(user_id__in=ids)} == {400 - 6 * 15}
