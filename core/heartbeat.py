"""The task worker's heartbeat: a row per `db_worker` process, touched from a thread.

The thread shows that the process lives and reaches the database; a worker alive but stuck
shows in /readyz as the task queue's oldest waiting task growing old (core.health).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

FORGET_AFTER = timedelta(days=1)


def beat(worker_id: str, started_at) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id[:64],
        defaults={"beat_at": now, "host": socket.gethostname()[:255], "pid": os.getpid(), "started_at": started_at},
    )
    WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()


def stop_beating(worker_id: str) -> None:
    """A worker that stops cleanly says so at once instead of letting its row grow old."""
    try:
        WorkerHeartbeat.objects.filter(worker_id=worker_id[:64]).delete()
    except Exception:
        logger.warning("heartbeat: could not remove this worker's row", exc_info=True)


def start(worker_id: str) -> threading.Event:
    """Beat now and every WORKER_HEARTBEAT_SECONDS in a daemon thread; set the returned event to stop."""
    stop = threading.Event()
    started_at = timezone.now()

    def loop() -> None:
        while True:
            try:
                beat(worker_id, started_at)
            except Exception as exc:  # the database is away: the worker's own loop waits it out too
                logger.warning("heartbeat: could not record (%s)", type(exc).__name__)
            finally:
                connection.close()  # this thread's connection goes back; the next beat takes one
            if stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
                return

    threading.Thread(target=loop, name="stq-heartbeat", daemon=True).start()
    return stop
