"""Log formatting: JSON lines for production, plain text for development (LOG_FORMAT).

One JSON object per line: `time` (ISO 8601, Asia/Shanghai offset), `level`, `logger`,
`message`, and, when the line was written for a request or a task, `request_id`, `user_id`
(the numeric id, never a name or phone), `route` (the URL pattern, not the path: a path can
hold a value), `task_id`; access lines add `method`, `status`, `duration_ms`. Other keys passed
with `extra={"stq": {...}}` are merged in. Messages are written by our code and carry ids only
(docs/deployment.md, Logs); nothing here reads a request body.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from core import request_context

_ZONE = ZoneInfo("Asia/Shanghai")


class ContextFilter(logging.Filter):
    """Copies the request/task context onto every record, for both formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.request_id.get()
        record.user_id = request_context.user_id.get()
        record.route = request_context.route.get()
        record.task_id = request_context.task_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, _ZONE).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "user_id", "route", "task_id"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        extra = getattr(record, "stq", None)
        if isinstance(extra, dict):
            line.update(extra)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The development format, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{text} [{rid}]" if rid else text
