"""A task worker killed with SIGKILL while WeChat holds its send open: after a new worker starts
and the sweep runs, the stand-in has received the message once and the outbox row says
`unknown` (issue 14, defect 5).

Real processes: the WeChat stand-in and django-tasks-db's db_worker, production settings,
on the test's PostgreSQL database. Runs only where DATABASE_URL is PostgreSQL and REDIS_URL
is set (CI's second pass).
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from bench.stack import Stack, production_env
from tests.scale.database import ON_POSTGRES_AND_REDIS, db_worker, shared_database_url, standin_control

pytestmark = [*ON_POSTGRES_AND_REDIS, pytest.mark.slow]

SEND_PATH = "cgi-bin/message/subscribe/send"
TEMPLATE_ID = "tpl-killed-worker"
# Enqueue into the database, where the db_worker subprocesses look (the test settings run tasks inline).
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "wechat"]}}


def _wait(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stack_env(django_db_setup):
    database_url = shared_database_url()
    stack = Stack()
    try:
        env = production_env(database_url=database_url, redis_url=os.environ["REDIS_URL"], wechat_base="http://127.0.0.1:1/")
        env["DATABASE_POOL"] = "false"  # one connection per process, closed between tasks: the flush after the test gets through
        env["FIELD_ENCRYPTION_KEYS"] = ",".join(settings.FIELD_ENCRYPTION_KEYS)
        env["DJANGO_SECRET_KEY"] = settings.SECRET_KEY
        env["WECHAT_API_BASE"] = stack.start_wechat_standin(env)
        # Long enough that the worker is still waiting on its send when it is killed.
        env["WECHAT_TIMEOUT_SECONDS"] = "120"
        yield stack, env
    finally:
        stack.stop()


@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_wechat_holds_the_send_then_restarted_and_swept_sends_it_once(stack_env):
    from django.tasks import TaskResultStatus

    from notifications.actions import do_notify
    from notifications.models import DeliveryAttempt, OutboxMessage, SubscribeConsent, SubscribeTemplate
    from notifications.tasks import deliver_due_outbox
    from tests import factories as f

    stack, env = stack_env
    standin = env["WECHAT_API_BASE"]
    SubscribeTemplate.objects.create(kind="service_request_status", template_id=TEMPLATE_ID, fields={"thing1": "title"})
    user = f.UserFactory()
    SubscribeConsent.objects.create(user=user, template_id=TEMPLATE_ID, remaining=2)
    standin_control(standin, "POST", "consents", {"openid": user.openid, "template_id": TEMPLATE_ID, "count": 2})
    # WeChat takes the message at once and holds its answer for 60 s.
    standin_control(standin, "POST", "faults", {"path": SEND_PATH, "kind": "delay", "delay": 60, "after": True, "times": 1})

    first_worker = db_worker(stack, "db_worker-1", env)
    with override_settings(TASKS=DB_TASKS):
        do_notify(recipients=[user], kind="service_request_status", title="您的服务申请已受理", event_key="killed:1")
    messages = lambda: standin_control(standin, "GET", f"messages?openid={user.openid}")["messages"]  # noqa: E731
    _wait(messages, "the worker's send to reach the stand-in")
    row = OutboxMessage.objects.get()
    assert row.status == OutboxMessage.Status.SENDING and row.attempt_started_at is not None

    os.killpg(first_worker.pid, signal.SIGKILL)  # WeChat has the message; the worker never hears back
    first_worker.wait(timeout=10)
    restarted = db_worker(stack, "db_worker-2", env)

    # The 120 s lease runs out (moved, not waited for), then the sweep runs as its own process
    # and the scheduler's periodic delivery runs on the new worker.
    OutboxMessage.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    swept = stack.manage("deliver_outbox", "--grace", "0", env=env, timeout=60)
    with override_settings(TASKS=DB_TASKS):
        periodic = deliver_due_outbox.enqueue()
        _wait(
            lambda: deliver_due_outbox.get_result(periodic.id).status == TaskResultStatus.SUCCESSFUL,
            "the restarted worker to run the periodic delivery",
        )
    assert restarted.poll() is None, stack.tail("db_worker-2")

    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.UNKNOWN, (row.status, swept, stack.tail("db_worker-2"))
    assert list(DeliveryAttempt.objects.filter(message=row).values_list("outcome", flat=True)) == ["unknown"]
    # Counted at WeChat's side: one message, one of the two consents spent.
    assert len(messages()) == 1
    assert standin_control(standin, "GET", f"consents?openid={user.openid}&template_id={TEMPLATE_ID}")["count"] == 1
