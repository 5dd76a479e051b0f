"""Requests released at the same instant from their own threads (and database connections),
for the stories where two people make one state change at once."""

from __future__ import annotations

import threading

from django.db import connection


def race(calls):
    """Run each call in its own thread, released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=5)
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
