"""A resident's socket in-process, for the realtime tests: connect with a token, subscribe to a
stream, publish an event as the actions do (after commit)."""

from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.db import transaction

from notifications.realtime import publish_on_commit


def application():
    from config.asgi import application as app

    return app


async def connect(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application(), f"/ws/v1/?token={token}")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def subscribe(communicator, stream: str) -> dict:
    await communicator.send_json_to({"action": "subscribe", "stream": stream})
    return await communicator.receive_json_from(timeout=2)


def publish(stream: str, type: str, payload: dict) -> int:
    with transaction.atomic():
        return publish_on_commit(stream, type, payload).id
