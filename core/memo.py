"""Per-process memos of reference rows (the region chain, subscribe templates, the service catalog).

Rows that change with an admin's edit, not with use, are read on hot paths (every feed page,
every notification, every one-tap create). A process may keep what it read for a short time:
saving or deleting one of the named models clears the memo in that process at once (Django
signals), other processes follow within the time to live. Values are shared between requests and
threads: callers must not change them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

_MEMOS: list[ProcessMemo] = []


class ProcessMemo:
    def __init__(self, name: str, ttl_seconds: float) -> None:
        self.name = name
        self.ttl_seconds = ttl_seconds
        self._rows: dict[Hashable, tuple[float, Any]] = {}
        _MEMOS.append(self)

    def get(self, key: Hashable, load: Callable[[Hashable], Any]) -> Any:
        now = time.monotonic()
        hit = self._rows.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load(key)
        self._rows[key] = (now + self.ttl_seconds, value)
        return value

    def get_many(self, keys: Iterable[Hashable], load_many: Callable[[set], dict]) -> dict:
        """Every key's value, the misses loaded by one call (`load_many(missing)` returns a dict);
        a key it does not return reads None and is not kept."""
        now = time.monotonic()
        found: dict[Hashable, Any] = {}
        missing: set = set()
        for key in keys:
            hit = self._rows.get(key)
            if hit is not None and hit[0] > now:
                found[key] = hit[1]
            else:
                missing.add(key)
        if missing:
            loaded = load_many(missing)
            expires = now + self.ttl_seconds
            for key in missing:
                found[key] = loaded.get(key)
                if key in loaded:
                    self._rows[key] = (expires, loaded[key])
        return found

    def clear(self, **_signal_kwargs) -> None:
        self._rows.clear()

    def cleared_by(self, *models) -> None:
        """Clear on every save or delete of these models (call from an AppConfig.ready)."""
        from django.db.models.signals import post_delete, post_save

        for model in models:
            for signal, what in ((post_save, "save"), (post_delete, "delete")):
                signal.connect(self.clear, sender=model, dispatch_uid=f"memo.{self.name}.{what}.{model.__name__}")


def clear_all() -> None:
    """Every memo of this process (tests: a test's rows are rolled back without a signal)."""
    for memo in _MEMOS:
        memo.clear()
