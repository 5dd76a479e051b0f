"""Readiness at /readyz: is everything this service needs there? (docs/deployment.md, Health checks)

`/healthz` (core.views.healthz) is liveness: the process answers and reaches its database
with `SELECT 1`, nothing more, so a restart loop never starts because WeChat is slow.
`/readyz` runs every registered check and answers 200 when all pass, 503 when one fails, with
a JSON body naming each part and what it found:

    {"status": "fail", "checks": {"database": {"status": "ok", "ms": 1.2},
                                  "redis": {"status": "fail", "error": "ConnectionError", "ms": 501}, ...}}

Core registers what it owns (database, Redis when REDIS_URL is set — else it reports `configured: false` —, the task queue's oldest
waiting task, the workers' heartbeat); each app registers its own in its AppConfig.ready()
with `register_check(name, fn)`, as with periodic jobs: core imports no app. A check returns
a dict of what it found, or raises `CheckFailed(reason, **found)`. Thresholds are settings
(READINESS_*, config/settings.py).

A small view rather than django-health-check (4.8): that library answers a failing check with
500, which a load balancer and an alert rule cannot tell from a crash, reports a message
per check but not what was measured (an age, a count), and lists its checks in one place
where ours register from the app that owns the part.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    def __init__(self, reason: str, **found) -> None:
        super().__init__(reason)
        self.reason = reason
        self.found = found


Check = Callable[[], dict]
_CHECKS: dict[str, Check] = {}


def register_check(name: str, fn: Check) -> None:
    _CHECKS[name] = fn


def checks() -> dict[str, Check]:
    return dict(_CHECKS)


def run_checks() -> tuple[bool, dict[str, dict]]:
    results: dict[str, dict] = {}
    healthy = True
    for name, fn in checks().items():
        started = time.monotonic()
        try:
            found = {"status": "ok", **(fn() or {})}
        except CheckFailed as exc:
            found = {"status": "fail", "error": exc.reason, **exc.found}
        except Exception as exc:  # the part is down: say which, not the exception's text (may hold a DSN)
            found = {"status": "fail", "error": type(exc).__name__}
        found["ms"] = round((time.monotonic() - started) * 1000, 1)
        if found["status"] != "ok":
            healthy = False
            logger.warning("readiness: %s failed (%s)", name, found.get("error"))
        results[name] = found
    return healthy, results


def readyz(request: HttpRequest) -> JsonResponse:
    healthy, results = run_checks()
    body = {"status": "ok" if healthy else "fail", "checks": results}
    response = JsonResponse(body, status=200 if healthy else 503, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


# --- What core owns -----------------------------------------------------------------


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


def check_redis() -> dict:
    import redis

    if not settings.REDIS_URL:
        return {"configured": False}
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
        socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()
    return {}


def oldest_waiting_task_age(now=None) -> float | None:
    """Seconds the oldest runnable task (django-tasks-db) has waited, or None when none waits."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = now or timezone.now()
    row = DBTaskResult.objects.ready().order_by("enqueued_at").values("enqueued_at", "run_after").first()
    if row is None:
        return None
    # A deferred task waits from the moment it became runnable.
    since = row["enqueued_at"] if row["run_after"] == get_date_max() else max(row["enqueued_at"], row["run_after"])
    return max((now - since).total_seconds(), 0.0)


def check_task_queue() -> dict:
    age = oldest_waiting_task_age()
    limit = settings.READINESS_TASK_MAX_WAIT_SECONDS
    if age is not None and age > limit:
        raise CheckFailed("tasks waiting too long", oldest_age_seconds=round(age), limit_seconds=limit)
    return {"oldest_age_seconds": None if age is None else round(age)}


def check_worker_heartbeat() -> dict:
    from core.models import WorkerHeartbeat

    newest = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
    limit = settings.READINESS_WORKER_HEARTBEAT_MAX_AGE_SECONDS
    if newest is None:
        raise CheckFailed("no worker has reported", limit_seconds=limit)
    age = (timezone.now() - newest).total_seconds()
    alive = WorkerHeartbeat.objects.filter(beat_at__gte=timezone.now() - timedelta(seconds=limit)).count()
    if age > limit:
        raise CheckFailed("no worker heartbeat", age_seconds=round(age), limit_seconds=limit)
    return {"age_seconds": round(age), "workers": alive}


def register_core_checks() -> None:
    register_check("database", check_database)
    register_check("redis", check_redis)
    register_check("task_queue", check_task_queue)
    register_check("worker", check_worker_heartbeat)
