"""A resident's socket in-process, for the realtime tests: connect with a token, subscribe to a
stream (or a user's socket subscribed to several), publish an event as the actions do (after commit)."""

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


async def socket_for(user, *streams: str) -> WebsocketCommunicator:
    """`user`'s socket (a fresh token), subscribed to each of `streams`."""
    from asgiref.sync import sync_to_async

    from tests import factories as f

    communicator = await connect(await sync_to_async(f.token_for)(user))
    for stream in streams:
        ack = await subscribe(communicator, stream)
        assert ack["type"] == "subscribed", ack
    return communicator


def publish(stream: str, type: str, payload: dict) -> int:
    with transaction.atomic():
        return publish_on_commit(stream, type, payload).id
