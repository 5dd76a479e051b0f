"""Keep a long-running command (scheduler, task worker, outbox sweep) alive through a
database restart or outage, instead of dying or failing every tick on a dead connection.

    outage = DatabaseOutage("run_scheduler")
    while True:
        close_old_connections()
        try:
            work()
        except RECOVERABLE_DB_ERRORS as exc:
            time.sleep(outage.failed(exc))
            continue
        outage.recovered()
        time.sleep(tick)

An outage logs one warning when it starts and one line when it ends (with its length),
not one per tick.
"""

from __future__ import annotations

import logging
import time

from django.db import connections
from django.db.utils import InterfaceError, OperationalError

# What a restarted or unreachable server raises: "the connection is closed", "terminating
# connection due to administrator command", "connection refused", a pool timeout.
RECOVERABLE_DB_ERRORS = (OperationalError, InterfaceError)

logger = logging.getLogger(__name__)


class DatabaseOutage:
    def __init__(self, what: str, *, first_backoff: float = 0.5, max_backoff: float = 5.0) -> None:
        self.what = what
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        """Drop this thread's connections and return how long to wait before trying again."""
        if self.since is None:
            self.since = time.monotonic()
            self.failures = 0
            logger.warning("%s: database unavailable, retrying: %s", self.what, exc)
        self.failures += 1
        # A connection left open here would raise "the connection is closed" on every
        # later query: close it, and the next query opens (or borrows) a fresh one.
        for conn in connections.all(initialized_only=True):
            try:
                conn.close()
            except RECOVERABLE_DB_ERRORS:
                pass  # close() forgets the connection even when closing it fails
        return min(self.first_backoff * 2 ** (self.failures - 1), self.max_backoff)

    def recovered(self) -> float | None:
        """Call after a successful round; returns the outage's length in seconds, if one ended."""
        if self.since is None:
            return None
        seconds = time.monotonic() - self.since
        logger.warning("%s: database back after %.1f s (%d failed attempts)", self.what, seconds, self.failures)
        self.since = None
        return seconds
