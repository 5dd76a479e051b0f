"""django-tasks-db's backend, carrying the request id into the tasks a request enqueues.

`enqueue` stores the current request id (core.request_context) in the task row, as a third key
of its `args_kwargs` JSON next to `args` and `kwargs` (the row has no other free column, and
django-tasks-db reads only those two keys, so the task's own arguments are untouched);
the worker (core/management/commands/db_worker.py) sets it again while the task runs, so the
worker's log lines for that task carry the id of the request that caused it. Tasks enqueued
outside a request (the scheduler's periodic jobs) carry none; their lines carry `task_id`.
"""

from __future__ import annotations

from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import normalize_json

from core import request_context

REQUEST_ID_KEY = "stq_request_id"


def _args_kwargs(args, kwargs) -> dict:
    stored = normalize_json({"args": args, "kwargs": kwargs})
    rid = request_context.request_id.get()
    if rid:
        stored[REQUEST_ID_KEY] = rid
    return stored


class RequestTracingDatabaseBackend(DatabaseBackend):
    def _row(self, task, args, kwargs) -> dict:
        """The task row's fields, as django-tasks-db writes them, with the request id in args_kwargs."""
        return {
            "id": self._get_id(),
            "args_kwargs": _args_kwargs(args, kwargs),
            "priority": task.priority,
            "task_path": task.module_path,
            "queue_name": task.queue_name,
            "run_after": task.run_after,
            "backend_name": self.alias,
        }

    def _task_to_db_task(self, task, args, kwargs):
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.create(**self._row(task, args, kwargs))

    async def _atask_to_db_task(self, task, args, kwargs):
        from django_tasks_db.models import DBTaskResult

        return await DBTaskResult.objects.acreate(**self._row(task, args, kwargs))


def task_log_context(db_task_result) -> dict:
    """What the worker binds while it runs this task row."""
    stored = db_task_result.args_kwargs if isinstance(db_task_result.args_kwargs, dict) else {}
    rid = stored.get(REQUEST_ID_KEY)
    return {"request_id": rid if isinstance(rid, str) else None, "task_id": str(db_task_result.id)}
