"""core.memo.ProcessMemo.get_many: one load for every miss, hits kept for the time to live,
a key the loader does not know read as None and asked again next time (a row made later shows)."""

from __future__ import annotations

from core.memo import ProcessMemo


def test_get_many_loads_the_misses_once_and_keeps_only_what_was_found():
    memo = ProcessMemo("test.get_many", ttl_seconds=60)
    calls: list[set] = []

    def load(keys: set) -> dict:
        calls.append(set(keys))
        return {key: f"名{key}" for key in keys if key != 3}

    assert memo.get_many([1, 2, 3], load) == {1: "名1", 2: "名2", 3: None}
    assert memo.get_many([2, 3, 4], load) == {2: "名2", 3: None, 4: "名4"}
    assert calls == [{1, 2, 3}, {3, 4}]
    memo.clear()
    memo.get_many([1], load)
    assert calls[-1] == {1}


def test_get_many_reloads_after_the_time_to_live():
    memo = ProcessMemo("test.get_many.ttl", ttl_seconds=0)
    calls: list[set] = []
    memo.get_many([1], lambda keys: calls.append(keys) or {1: "a"})
    memo.get_many([1], lambda keys: calls.append(keys) or {1: "b"})
    assert len(calls) == 2
