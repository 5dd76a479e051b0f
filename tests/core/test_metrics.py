"""/metrics: protected, per-route request metrics, and domain gauges equal to the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cases.models import Case
from core.models import PeriodicJobState
from core.scheduler import enqueue_due_jobs
from notifications.models import OutboxMessage
from services.models import ServiceRequest
from tests import factories as f
from tests.services.conftest import world  # noqa: F401  (fixture)
from tests.services.test_request_lifecycle import _request

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def scraper(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def scrape() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.content
        samples = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    return scrape


def test_refused_like_a_missing_page_without_the_token_or_an_allowed_address(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_request_latency_is_counted_per_route_not_per_path(client, db, scraper):
    before = scraper().get(("stq_http_request_duration_seconds_count", (("method", "GET"), ("route", "healthz"), ("status", "200"))), 0)
    for _ in range(3):
        client.get("/healthz")
    client.get("/api/v1/posts/12345")  # 401: unauthenticated, but the route is the pattern
    samples = scraper()
    assert samples[("stq_http_request_duration_seconds_count", (("method", "GET"), ("route", "healthz"), ("status", "200")))] == before + 3
    routes = {dict(labels).get("route") for (name, labels) in samples if name == "stq_http_request_duration_seconds_count"}
    assert not any("12345" in route for route in routes)


def test_domain_gauges_equal_the_rows(world, scraper, settings, neighborhood):  # noqa: F811
    user = f.resident(neighborhood)
    now = timezone.now()
    for i, status in enumerate(["pending", "pending", "sent", "failed", "unknown"]):
        OutboxMessage.objects.create(
            event_key=f"e{i}", recipient=user, kind="k", openid="o", template_id="t", status=status,
            next_attempt_at=now, deadline=now + timedelta(hours=1),
        )
    late, on_time = _request(world), _request(world)
    ServiceRequest.objects.filter(pk=late.pk).update(accept_due_at=now - timedelta(minutes=1))
    settings.TASKS = {"default": {"BACKEND": "core.task_backend.RequestTracingDatabaseBackend", "QUEUES": ["default", "wechat"]}}
    enqueue_due_jobs()  # every periodic job: a row in the queue and a last run each

    samples = scraper()
    for status in OutboxMessage.Status.values:
        assert samples[("stq_outbox_messages", (("status", status),))] == OutboxMessage.objects.filter(status=status).count()
    assert samples[("stq_outbox_messages", (("status", "pending"),))] == 2
    assert samples[("stq_service_requests_overdue", ())] == 1
    assert on_time.pk != late.pk
    overdue_cases = {dict(labels)["kind"]: v for (name, labels), v in samples.items() if name == "stq_cases_overdue"}
    assert sum(overdue_cases.values()) == Case.objects.filter(due_at__lt=timezone.now()).count()
    from django_tasks_db.models import DBTaskResult

    depth = {dict(labels)["queue"]: v for (name, labels), v in samples.items() if name == "stq_task_queue_depth"}
    assert sum(depth.values()) == DBTaskResult.objects.ready().count() > 0
    states = list(PeriodicJobState.objects.all())
    assert any(state.last_run_at for state in states) and any(not state.last_run_at for state in states)  # cron jobs wait
    for state in states:
        expected = state.last_run_at.timestamp() if state.last_run_at else 0  # 0: never run
        assert samples[("stq_scheduler_last_run_timestamp_seconds", (("job", state.name),))] == pytest.approx(expected)


def test_open_sockets_gauge_follows_connects_and_disconnects(db, scraper):
    from core.metrics import OPEN_SOCKETS

    start = scraper()[("stq_websocket_connections", ())]
    OPEN_SOCKETS.inc()
    assert scraper()[("stq_websocket_connections", ())] == start + 1
    OPEN_SOCKETS.dec()
    assert scraper()[("stq_websocket_connections", ())] == start


def test_error_reports_carry_no_body_cookie_or_personal_header():
    from core.errortracking import scrub

    event = {
        "request": {
            "url": "https://x/api/v1/me", "data": {"phone": "13912345678"}, "query_string": "phone=13912345678",
            "cookies": {"sessionid": "s"}, "headers": {"Authorization": "Bearer stq_x", "User-Agent": "ua", "X-Request-ID": "r1"},
        },
        "user": {"id": 7, "username": "张三", "ip_address": "1.2.3.4"},
    }
    scrubbed = scrub(event)
    assert "13912345678" not in str(scrubbed) and "张三" not in str(scrubbed) and "stq_x" not in str(scrubbed)
    assert scrubbed["request"]["headers"] == {"User-Agent": "ua", "X-Request-ID": "r1"}
    assert scrubbed["user"] == {"id": 7}
