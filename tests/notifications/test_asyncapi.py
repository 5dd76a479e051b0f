"""The AsyncAPI document of `WS /ws/v1/` (notifications/asyncapi.py) says what the code does:
its stream prefixes are the registry's, its event types are the ones the code publishes,
its close codes and error codes are the ones a socket really gets."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from notifications import streams
from notifications.event_types import EVENT_TYPES
from tests.notifications.event_type_scan import published_event_types
from tests.notifications.test_websocket import connect, subscribe


@pytest.fixture
def document(client):
    response = client.get("/api/asyncapi.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    return response.json()


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document, ref):
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_document_is_asyncapi_3_and_every_reference_resolves(document):
    assert document["asyncapi"] == "3.0.0"
    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        _resolve(document, ref)  # a KeyError is a dangling reference
    for operation in document["operations"].values():
        assert operation["action"] in ("send", "receive")
        assert operation["channel"] == {"$ref": "#/channels/events"}
        for message in operation["messages"]:
            assert message["$ref"].startswith("#/channels/events/messages/")


def test_stream_prefixes_are_the_registry(document):
    stream = document["components"]["schemas"]["Stream"]
    assert stream["x-stream-prefixes"] == streams.registered_prefixes()
    assert {"user", "neighborhood", "staff.neighborhood", "staff.street", "topic"} <= set(stream["x-stream-prefixes"])


def test_event_types_are_what_the_code_publishes(document):
    published = published_event_types(streams.registered_prefixes())
    assert published, "the scan found no publish_on_commit call at all"
    assert set(EVENT_TYPES) == published, (
        f"missing from notifications/event_types.py: {sorted(published - set(EVENT_TYPES))}; "
        f"listed but never published: {sorted(set(EVENT_TYPES) - published)}"
    )
    assert document["x-event-types"] == list(EVENT_TYPES)
    frames = document["components"]["messages"]["event"]["payload"]["oneOf"]
    types = [_resolve(document, frame["$ref"])["properties"]["type"]["const"] for frame in frames]
    assert types == list(EVENT_TYPES)
    for event_type, (prefixes, _meaning) in EVENT_TYPES.items():
        assert set(prefixes) <= set(streams.registered_prefixes()), event_type


@pytest.mark.django_db(transaction=True)
def test_a_bad_token_gets_a_documented_error_frame_and_close_code(document):
    close_codes = [entry["code"] for entry in document["x-close-codes"]]
    errors = document["components"]["messages"]["error"]["payload"]["properties"]["error"]["properties"]["code"]["enum"]
    assert close_codes == [1013, 4401]
    assert all(entry["description"] for entry in document["x-close-codes"])

    async def scenario():
        communicator = await connect("stq_nonsense")
        frame = await communicator.receive_json_from()
        closed = await communicator.receive_output()
        return frame, closed

    frame, closed = async_to_sync(scenario)()
    assert frame["error"]["code"] in errors
    assert closed["code"] in close_codes


@pytest.mark.django_db(transaction=True)
def test_a_refused_subscription_gets_a_documented_error_frame(document):
    from residents.models import ApiToken
    from tests import factories as f

    _token, raw = ApiToken.issue(f.UserFactory())
    errors = document["components"]["messages"]["error"]["payload"]["properties"]["error"]["properties"]["code"]["enum"]

    async def scenario():
        communicator = await connect(raw)
        answers = [await subscribe(communicator, "neighborhood.999999"), await subscribe(communicator, "nowhere")]
        await communicator.send_to(text_data="not json")
        answers.append(await communicator.receive_json_from(timeout=2))
        await communicator.disconnect()
        return answers

    answers = async_to_sync(scenario)()
    assert [a["error"]["code"] for a in answers] == ["stream_not_found", "stream_not_found", "invalid_message"]
    assert all(a["error"]["code"] in errors for a in answers)
