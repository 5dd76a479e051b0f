"""What the publisher (notifications.realtime), the relay (notifications.relay) and the
WebSocket consumer agree on: a stream's channels group, and the message an event travels as."""

from __future__ import annotations

from typing import Any


def group_name(stream: str) -> str:
    # channels group names allow only ASCII alphanumerics, hyphens, underscores and periods.
    return "stq." + stream


def event_message(event_id: int, stream: str, type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message for one event row; the consumer's `stq_event` turns it into a frame."""
    return {"type": "stq.event", "id": event_id, "stream": stream, "event": type, "payload": payload}
