"""JSON log lines with a request id that follows the request into the worker; no personal value in a line."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import call_command
from django.http import HttpResponse
from django.tasks import task
from django.test import RequestFactory

from core.logs import ContextFilter, JsonFormatter
from core.requestlog import RequestLogMiddleware

logger = logging.getLogger("tests.structured_logs")


@task()
def write_a_line(n: int) -> int:
    logger.info("task body ran n=%s", n)
    return n


@pytest.fixture
def json_lines():
    """What the production handler would print, one parsed object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    try:
        yield read
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_production_logging_is_json_and_debug_is_plain(settings):
    from django.conf import settings as live

    assert live.LOGGING["handlers"]["console"]["formatter"] == live.LOG_FORMAT
    assert not live.DEBUG and live.LOG_FORMAT == "json"


def test_access_line_is_one_json_object_with_the_request_fields(api_for, neighborhood, json_lines):
    from tests import factories as f

    user = f.resident(neighborhood)
    response = api_for(user).get("/api/v1/me", headers={"X-Request-ID": "abc12345-proxy"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "abc12345-proxy"
    access = [line for line in json_lines() if line["logger"] == "stq.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "abc12345-proxy"
    assert line["user_id"] == user.pk
    assert line["route"] == "api/v1/me"
    assert line["method"] == "GET" and line["status"] == 200 and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"].endswith("+08:00")


def test_an_insane_incoming_request_id_is_replaced(client, db):
    response = client.get("/healthz", headers={"X-Request-ID": "x\nforged log line"})
    assert response["X-Request-ID"] != "x\nforged log line" and len(response["X-Request-ID"]) == 32


def test_a_phone_number_and_a_name_in_a_request_never_reach_the_log(api_for, neighborhood, json_lines):
    from tests import factories as f

    user = f.resident(neighborhood, nickname="张三丰")
    api = api_for(user)
    # A body with personal values, a query string with one, and a 4xx that logs a warning.
    api.patch("/api/v1/me", {"nickname": "李秀英", "phone": "13912345678"})
    api.get("/api/v1/regions?phone=13912345678&name=李秀英")
    api.post("/api/v1/beneficiaries", {"name": "王秀兰", "phone": "13812345678", "address": "共和新路100弄"})
    text = json.dumps(json_lines(), ensure_ascii=False)
    assert json_lines(), "no line was written at all"
    for value in ("13912345678", "13812345678", "李秀英", "张三丰", "王秀兰", "共和新路"):
        assert value not in text


@pytest.mark.django_db(transaction=True)
def test_the_request_id_is_on_the_workers_lines_for_the_task_it_enqueued(settings, json_lines):
    settings.TASKS = {"default": {"BACKEND": "core.task_backend.RequestTracingDatabaseBackend", "QUEUES": ["default"]}}

    def view(request):
        write_a_line.enqueue(7)
        return HttpResponse("ok")

    response = RequestLogMiddleware(view)(RequestFactory().get("/x", HTTP_X_REQUEST_ID="req-from-proxy-1"))
    assert response["X-Request-ID"] == "req-from-proxy-1"

    call_command("db_worker", batch=True, reload=False, startup_delay=False, queue_name="default", verbosity=1)

    lines = json_lines()
    body = [line for line in lines if line["message"] == "task body ran n=7"]
    assert len(body) == 1 and body[0]["request_id"] == "req-from-proxy-1" and body[0]["task_id"]
    finished = [line for line in lines if line["logger"] == "django.tasks" and "SUCCESSFUL" in line["message"]]
    assert finished and finished[0]["request_id"] == "req-from-proxy-1"
    # Outside the task the worker's lines carry no request id.
    assert all("request_id" not in line for line in lines if "Starting worker" in line["message"])
