"""/healthz is liveness (SELECT 1); /readyz checks each part the service needs and names the one that failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core import heartbeat
from core.models import WorkerHeartbeat
from notifications.models import OutboxMessage
from tests import factories as f
from tests.redis_process import redis_process  # noqa: F401  (fixture)
from wechat import token_health


@pytest.fixture
def worker_alive(db):
    heartbeat.beat("test-worker", timezone.now())


def _ready(client):
    response = client.get("/readyz")
    body = response.json()
    return response.status_code, body


def test_healthz_stays_a_select_1(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_all_parts_up_answers_200_and_lists_each(client, worker_alive):
    status, body = _ready(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"database", "redis", "task_queue", "worker", "outbox", "wechat_token"}
    assert all(part["status"] == "ok" for part in body["checks"].values())
    assert body["checks"]["worker"]["workers"] == 1


def test_no_worker_heartbeat_is_503_naming_the_worker(client, db, settings):
    status, body = _ready(client)
    assert status == 503 and body["checks"]["worker"] == {
        "status": "fail", "error": "no worker has reported",
        "limit_seconds": settings.READINESS_WORKER_HEARTBEAT_MAX_AGE_SECONDS, "ms": body["checks"]["worker"]["ms"],
    }
    heartbeat.beat("w1", timezone.now())
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(seconds=61))
    status, body = _ready(client)
    assert status == 503 and body["checks"]["worker"]["error"] == "no worker heartbeat"
    assert body["checks"]["database"]["status"] == "ok"


def test_a_task_waiting_too_long_is_503_naming_the_queue(client, worker_alive, settings):
    settings.TASKS = {"default": {"BACKEND": "core.task_backend.RequestTracingDatabaseBackend", "QUEUES": ["default", "wechat"]}}
    from core.tasks import purge_idempotency_records

    result = purge_idempotency_records.enqueue()
    assert _ready(client)[0] == 200
    DBTaskResult.objects.filter(id=result.id).update(enqueued_at=timezone.now() - timedelta(seconds=301))
    status, body = _ready(client)
    assert status == 503
    assert body["checks"]["task_queue"]["error"] == "tasks waiting too long"
    assert body["checks"]["task_queue"]["oldest_age_seconds"] >= 301


def test_outbox_behind_is_503_naming_the_outbox(client, worker_alive, neighborhood):
    user = f.resident(neighborhood)
    OutboxMessage.objects.create(
        event_key="e1", recipient=user, kind="k", openid="o", template_id="t",
        status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now() - timedelta(seconds=30),
        deadline=timezone.now() + timedelta(hours=1),
    )
    status, body = _ready(client)
    assert status == 200 and body["checks"]["outbox"]["due"] == 1
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=700))
    status, body = _ready(client)
    assert status == 503 and body["checks"]["outbox"]["error"] == "outbox behind"


def test_wechat_token_fails_only_when_refreshing_fails_and_the_token_is_old(client, worker_alive):
    token_health.record_fetched(7200)
    token_health.record_failed()
    status, body = _ready(client)
    assert status == 200 and body["checks"]["wechat_token"]["age_seconds"] == 0  # failed, but the token is fresh
    token_health._write({"fetched_at": 1.0, "expires_in": 7200, "failed_at": 2.0})
    status, body = _ready(client)
    assert status == 503 and body["checks"]["wechat_token"]["error"] == "access token cannot be refreshed"


def test_a_real_token_fetch_is_recorded(worker_alive, wechat_standin):
    from wechat.client import get_client

    get_client().fetch_access_token()
    state = token_health._read()
    assert state["fetched_at"] and state["failed_at"] is None


@pytest.mark.redis
def test_redis_killed_is_503_naming_redis(client, worker_alive, settings, redis_process):  # noqa: F811
    settings.REDIS_URL = redis_process.url
    status, body = _ready(client)
    assert status == 200 and body["checks"]["redis"]["status"] == "ok"
    redis_process.kill()
    status, body = _ready(client)
    assert status == 503
    assert body["checks"]["redis"]["status"] == "fail" and body["checks"]["redis"]["error"] == "ConnectionError"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["ms"] < 3000  # bounded by REDIS_TIMEOUT_SECONDS, not a hang
