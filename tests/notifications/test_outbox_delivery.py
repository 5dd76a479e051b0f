"""The outbox sends each message once through WeChat, rides out WeChat's bad days, and loses nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from notifications import delivery, queries
from notifications.models import (
    ChannelPause,
    DeliveryAttempt,
    OutboxMessage,
    SubscribeConsent,
)
from tests import factories as f
from tests.notifications.conftest import TEMPLATE_ID, Clock, give_consents, notify

Status = OutboxMessage.Status


def sent_log(standin) -> list[dict]:
    with standin.state.lock:
        return list(standin.state.sent_messages)


def test_message_is_written_with_the_notification_and_sent_once(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)
    message = OutboxMessage.objects.get()
    assert message.status == Status.PENDING and message.consent_reserved
    assert message.data["thing1"] == "您的服务申请有新进展1"
    assert "年" in message.data["time3"]

    report = delivery.deliver_due()
    assert report.outcomes == {"sent": 1}
    assert delivery.deliver_due().claimed == 0  # nothing left: no second send
    message.refresh_from_db()
    assert message.status == Status.SENT and message.msgid
    assert [m["touser"] for m in sent_log(wechat_standin)] == [user.openid]
    assert sent_log(wechat_standin)[0]["page"] == "pages/services/detail"


def test_notify_commits_the_outbox_row_and_sends_after_commit(template, wechat_standin, django_capture_on_commit_callbacks):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    with django_capture_on_commit_callbacks(execute=True):
        notify(user, 1)
    # The immediate task backend ran the delivery task on commit.
    assert OutboxMessage.objects.get().status == Status.SENT
    assert len(sent_log(wechat_standin)) == 1


def test_no_outbox_row_without_template_or_openid(db):
    user = f.UserFactory()
    notify(user, 1)  # no template for the kind
    assert not OutboxMessage.objects.exists()


def test_no_outbox_row_for_user_without_openid(template):
    user = f.UserFactory(openid=None)
    notify(user, 1)
    assert not OutboxMessage.objects.exists()


def test_resident_with_one_consent_gets_one_push_then_inbox_only(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)
    notify(user, 2)
    notify(user, 2)  # the same event again: nothing new
    statuses = list(OutboxMessage.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [Status.PENDING, Status.SKIPPED_NO_CONSENT]
    delivery.deliver_due()
    assert len(sent_log(wechat_standin)) == 1
    assert user.notifications.count() == 2  # both are in the inbox
    assert SubscribeConsent.objects.get(user=user).remaining == 0


def test_wechat_down_for_ten_minutes_then_every_message_delivered_exactly_once(template, wechat_standin):
    users = [f.UserFactory() for _ in range(3)]
    for user in users:
        give_consents(user, 2, wechat_standin)
        notify(user, 1)
        notify(user, 2)
    wechat_standin.control("POST", "faults", {"path": "cgi-bin/message/subscribe/send", "errcode": -1, "seconds": 600})
    clock = Clock(wechat_standin)
    for _ in range(60):  # 30 simulated minutes in 30-second steps
        delivery.deliver_due(now=clock.now)
        clock.advance(30)
    messages = list(OutboxMessage.objects.all())
    assert {m.status for m in messages} == {Status.SENT}
    sent = sent_log(wechat_standin)
    assert len(sent) == 6
    assert len({(m["touser"], m["data"]["thing1"]["value"]) for m in sent}) == 6  # none twice
    # Every failed try was recorded, with backoff between them (not one try per step).
    unavailable = DeliveryAttempt.objects.filter(outcome="unavailable").count()
    assert 6 <= unavailable < 6 * 20
    assert DeliveryAttempt.objects.filter(outcome="sent").count() == 6


@override_settings(NOTIFICATIONS_OUTBOX_DEADLINE_SECONDS=300)
def test_message_expires_after_deadline_and_consent_is_given_back(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)
    wechat_standin.control("POST", "faults", {"path": "cgi-bin/message/subscribe/send", "errcode": -1})
    clock = Clock(wechat_standin)
    for _ in range(30):
        delivery.deliver_due(now=clock.now)
        clock.advance(30)
    message = OutboxMessage.objects.get()
    assert message.status == Status.EXPIRED
    assert not sent_log(wechat_standin)
    assert SubscribeConsent.objects.get(user=user).remaining == 1


def test_daily_quota_pauses_sending_until_shanghai_midnight_without_dropping(template, wechat_standin):
    users = [f.UserFactory() for _ in range(3)]
    for n, user in enumerate(users):
        give_consents(user, 1, wechat_standin)
        notify(user, n)
    wechat_standin.control("POST", "faults", {"path": "cgi-bin/message/subscribe/send", "errcode": 45009, "times": 1})
    clock = Clock(wechat_standin)
    report = delivery.deliver_due(now=clock.now)
    assert report.outcomes == {"quota": 1}
    midnight = delivery.end_of_shanghai_day(clock.now)
    assert ChannelPause.objects.get().paused_until == midnight
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.PENDING}
    # Still paused later that day (halfway to midnight: an hour later may be tomorrow when the
    # suite runs just before Shanghai's midnight): no call reaches WeChat.
    calls_before = len(wechat_standin.state.calls)
    assert delivery.deliver_due(now=clock.now + (midnight - clock.now) / 2).claimed == 0
    assert len(wechat_standin.state.calls) == calls_before
    # After midnight everything goes out.
    delivery.deliver_due(now=midnight + timedelta(seconds=1))
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(sent_log(wechat_standin)) == 3


def test_wechat_says_no_consent_marks_it_spends_the_count_and_does_not_retry(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 3)  # our count says 3, WeChat has none
    notify(user, 1)
    report = delivery.deliver_due()
    assert report.outcomes == {"no_consent": 1}
    message = OutboxMessage.objects.get()
    assert message.status == Status.NO_CONSENT
    assert SubscribeConsent.objects.get(user=user).remaining == 0
    assert delivery.deliver_due(now=message.created_at + timedelta(hours=1)).claimed == 0
    notify(user, 2)
    assert OutboxMessage.objects.get(event_key="test:2").status == Status.SKIPPED_NO_CONSENT


def test_bad_request_fails_without_retry_and_gives_consent_back(template, wechat_standin):
    template.fields = {"thing1": "title"}
    template.page = "pages/does-not-exist"
    template.save()
    wechat_standin.state.published_pages = ["pages/services/detail"]
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)
    assert delivery.deliver_due().outcomes == {"bad_request": 1}
    assert OutboxMessage.objects.get().status == Status.FAILED
    assert SubscribeConsent.objects.get(user=user).remaining == 1


def test_worker_killed_mid_batch_rows_are_retried_after_the_lease(template, wechat_standin):
    users = [f.UserFactory() for _ in range(3)]
    for n, user in enumerate(users):
        give_consents(user, 1, wechat_standin)
        notify(user, n)
    clock = Clock(wechat_standin)
    # A worker claims the batch and dies before sending any of it.
    held = delivery.claim(now=clock.now, limit=10)
    assert len(held) == 3
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENDING}
    # Another worker does not touch claimed rows while the lease runs...
    assert delivery.deliver_due(now=clock.now + timedelta(seconds=60)).claimed == 0
    # ...and takes them over once it has run out.
    report = delivery.deliver_due(now=clock.now + delivery.lease() + timedelta(seconds=1))
    assert report.outcomes == {"sent": 3}
    assert len(sent_log(wechat_standin)) == 3
    # The dead worker's late answer changes nothing.
    assert not delivery._finish(held[0], now=clock.now, status=Status.FAILED)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_row_claimed_by_one_worker_cannot_be_claimed_by_another(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)
    clock = Clock(wechat_standin)
    first = delivery.claim(now=clock.now)
    # The second worker saw the same candidate a moment ago; its conditional claim matches nothing.
    assert delivery.claim(now=clock.now, ids=[first[0].pk]) == []
    assert delivery.deliver_ids([first[0].pk], now=clock.now).claimed == 0
    assert delivery.send_one(first[0], now=clock.now) == "sent"
    assert len(sent_log(wechat_standin)) == 1


def test_sweep_reenqueues_rows_whose_task_was_lost(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)  # no on-commit run here: the task was never enqueued
    clock = Clock(wechat_standin)
    assert delivery.sweep(now=clock.now) == []  # due for less than the grace period: left to its task
    later = clock.now + timedelta(seconds=31)
    ids = delivery.sweep(now=later)  # the immediate task backend sends it right away
    assert len(ids) == 1
    assert OutboxMessage.objects.get().status == Status.SENT
    assert delivery.sweep(now=later + timedelta(seconds=1)) == []


def test_sweep_recovers_rows_of_a_dead_worker(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)
    clock = Clock(wechat_standin)
    delivery.claim(now=clock.now)
    ids = delivery.sweep(now=clock.now + delivery.lease() + timedelta(seconds=1))
    assert len(ids) == 1
    assert OutboxMessage.objects.get().status == Status.SENT
    assert len(sent_log(wechat_standin)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_message_once(template, wechat_standin):
    """Real concurrency needs real row locks: the in-memory SQLite of the test run locks whole
    tables and fails instead of waiting. CI runs this on PostgreSQL (SKIP LOCKED claims)."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")

    # Outside a test transaction the on-commit task runs at once: let WeChat refuse those first tries.
    wechat_standin.control("POST", "faults", {"path": "cgi-bin/message/subscribe/send", "errcode": -1, "times": 6})
    users = [f.UserFactory() for _ in range(6)]
    for n, user in enumerate(users):
        give_consents(user, 1, wechat_standin)
        notify(user, n)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.PENDING}
    later = OutboxMessage.objects.latest("next_attempt_at").next_attempt_at + timedelta(seconds=1)
    barrier = threading.Barrier(2)
    reports = []

    def worker():
        try:
            barrier.wait()
            while True:
                report = delivery.deliver_due(now=later, limit=2)
                reports.append(report)
                if not report.claimed:
                    return
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.claimed for r in reports) == 6
    assert len(sent_log(wechat_standin)) == 6
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}


def test_long_term_template_needs_no_count(template, wechat_standin):
    template.long_term = True
    template.save()
    wechat_standin.control("POST", "templates/long-term", {"template_id": TEMPLATE_ID})
    user = f.UserFactory()
    SubscribeConsent.objects.create(user=user, template_id=TEMPLATE_ID, long_term_active=True)
    for n in range(3):
        notify(user, n)
    delivery.deliver_due()
    assert len(sent_log(wechat_standin)) == 3
    assert not OutboxMessage.objects.filter(consent_reserved=True).exists()


# ---- never twice: a send whose outcome is unknown is not sent again (issue 14, defect 5) ----

SEND_PATH = "cgi-bin/message/subscribe/send"


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _long_after(clock: Clock) -> timedelta:
    """Past every lease and backoff: whatever would be retried is due by then."""
    return delivery.lease() + timedelta(hours=1)


def test_wechat_answering_after_the_budget_delivers_once_and_the_row_is_unknown(
    template, wechat_standin, settings, caplog
):
    settings.WECHAT_TIMEOUT_SECONDS = 1.5  # 0.5 s to connect, 1 s to read
    user = f.UserFactory()
    give_consents(user, 3, wechat_standin)
    notify(user, 1)
    # WeChat takes the message at once and answers after the budget: the read times out.
    wechat_standin.control("POST", "faults", {"path": SEND_PATH, "kind": "delay", "delay": 2.0, "after": True, "times": 1})
    clock = Clock(wechat_standin)

    assert delivery.deliver_due(now=clock.now).outcomes == {"unknown": 1}

    message = OutboxMessage.objects.get()
    assert message.status == Status.UNKNOWN and message.finished_at is not None
    assert message.attempt_started_at is not None
    later = clock.now + _long_after(clock)
    assert delivery.sweep(now=later) == []
    assert delivery.deliver_due(now=later).claimed == 0
    assert len(sent_log(wechat_standin)) == 1
    assert list(message.attempt_log.values_list("outcome", flat=True)) == ["unknown"]
    # Counted, and logged without the recipient or the text.
    assert queries.outbox_status_counts()["unknown"] == 1
    logged = [r.getMessage() for r in caplog.records if "outcome unknown" in r.getMessage()]
    assert logged and all(user.openid not in line and "新进展" not in line for line in logged)


def test_dropped_connection_after_the_request_left_is_unknown_not_retried(template, wechat_standin):
    user = f.UserFactory()
    give_consents(user, 3, wechat_standin)
    notify(user, 1)
    wechat_standin.control("POST", "faults", {"path": SEND_PATH, "kind": "close", "times": 1})
    clock = Clock(wechat_standin)
    assert delivery.deliver_due(now=clock.now).outcomes == {"unknown": 1}
    assert delivery.deliver_due(now=clock.now + _long_after(clock)).claimed == 0
    assert OutboxMessage.objects.get().status == Status.UNKNOWN


def test_refused_connection_is_retried_and_delivered_once(template, wechat_standin, settings):
    user = f.UserFactory()
    give_consents(user, 1, wechat_standin)
    notify(user, 1)
    from wechat import client as wechat_client

    assert wechat_client.get_client().access_token  # cached: only the send meets the closed port
    stand_in_url = settings.WECHAT_API_BASE
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{_closed_port()}/"
    clock = Clock(wechat_standin)

    assert delivery.deliver_due(now=clock.now).outcomes == {"unavailable": 1}
    message = OutboxMessage.objects.get()
    assert message.status == Status.PENDING and message.attempt_started_at is None

    settings.WECHAT_API_BASE = stand_in_url
    assert delivery.deliver_due(now=clock.now + _long_after(clock)).outcomes == {"sent": 1}
    assert OutboxMessage.objects.get().status == Status.SENT
    assert len(sent_log(wechat_standin)) == 1


def test_worker_that_died_during_a_send_leaves_it_unknown_and_the_rest_of_its_batch_is_sent(
    template, wechat_standin
):
    users = [f.UserFactory() for _ in range(3)]
    for n, user in enumerate(users):
        give_consents(user, 1, wechat_standin)
        notify(user, n)
    clock = Clock(wechat_standin)
    held = delivery.claim(now=clock.now, limit=10)
    # The worker marks the first send begun, WeChat accepts it, and the worker is killed.
    assert delivery.begin_attempt(held[0])
    from wechat import client as wechat_client

    first = held[0]
    wechat_client.send_subscribe_message(openid=first.openid, template_id=first.template_id, data=first.data)
    assert len(sent_log(wechat_standin)) == 1

    after_lease = clock.now + delivery.lease() + timedelta(seconds=1)
    swept = delivery.sweep(now=after_lease)
    # The two it never began go out again; the one whose send had left does not.
    assert sorted(swept) == sorted(m.pk for m in held[1:])
    assert OutboxMessage.objects.get(pk=first.pk).status == Status.UNKNOWN
    assert {m.status for m in OutboxMessage.objects.exclude(pk=first.pk)} == {Status.SENT}
    assert len(sent_log(wechat_standin)) == 3
    assert len({m["touser"] for m in sent_log(wechat_standin)}) == 3
    assert delivery.deliver_due(now=after_lease + timedelta(hours=1)).claimed == 0
    # The dead worker's claim is gone: a late answer of its own could not touch the row either.
    assert not delivery._finish(first, now=clock.now, status=Status.FAILED)


def test_claim_after_the_lease_never_resends_a_begun_attempt(template, wechat_standin):
    """deliver_due without a sweep in between: the reclaim path must not send it either."""
    user = f.UserFactory()
    give_consents(user, 2, wechat_standin)
    notify(user, 1)
    clock = Clock(wechat_standin)
    held = delivery.claim(now=clock.now)
    assert delivery.begin_attempt(held[0])
    report = delivery.deliver_due(now=clock.now + delivery.lease() + timedelta(seconds=1))
    assert report.claimed == 0
    assert OutboxMessage.objects.get().status == Status.UNKNOWN
    assert sent_log(wechat_standin) == []


def test_deliver_outbox_stats_counts_unknown_outcomes(template, wechat_standin):
    from io import StringIO

    from django.core.management import call_command

    user = f.UserFactory()
    give_consents(user, 2, wechat_standin)
    notify(user, 1)
    notify(user, 2)
    wechat_standin.control("POST", "faults", {"path": SEND_PATH, "kind": "close", "times": 1})
    delivery.deliver_due()
    out = StringIO()
    call_command("deliver_outbox", "--stats", stdout=out)
    assert "unknown: 1" in out.getvalue() and "sent: 1" in out.getvalue()
