"""A service request's moves reach the case engine's boards as a matter's do: the same `case.*`
frames (created, accepted, resolved, escalated by the engine's sweep) on the committee unit's,
the neighborhood staff's, the street's and the requester's streams, naming the request — beside
the services app's own `service_request.*` frames, which the mini-program and 派单台 keep
reading unchanged. Read off real WebSockets (config.asgi), after the API's HTTP moves."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from cases.models import Case
from cases.units import committee_unit
from tests.notifications.sockets import socket_for
from tests.services.conftest import MEAL, item

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_catalog")]
URL = "/api/v1/service-requests"


async def _frames(socket, *types: str) -> dict[str, dict]:
    """The next frame of each of `types`, in whatever order they come; other frames are skipped."""
    frames: dict[str, dict] = {}
    while set(frames) != set(types):
        frame = await socket.receive_json_from(timeout=3)
        if frame.get("type") in types:
            assert frame["type"] not in frames, frame  # not twice
            frames[frame["type"]] = frame
    return frames


def test_each_move_of_a_request_sends_the_engines_case_frame(world, api_for):
    son, staff, worker = api_for(world.son), api_for(world.staff), api_for(world.worker)
    with transaction.atomic():  # the unit is made on demand under a row lock
        unit = committee_unit(world.neighborhood)
    meal = item("meal-delivery").pk

    async def scenario():
        sockets = {
            "staff": await socket_for(world.staff, f"staff.neighborhood.{world.neighborhood.pk}"),
            "officer": await socket_for(world.officer, f"staff.street.{world.street.pk}"),
            "son": await socket_for(world.son, f"user.{world.son.pk}"),
        }
        other = await socket_for(world.other_officer, f"staff.street.{world.other_street.pk}")

        response = await sync_to_async(son.post)(URL, {"item": meal, "extra": MEAL})
        assert response.status_code == 201, response.content
        request_id = response.json()["id"]
        case = await sync_to_async(Case.objects.get)(service_request__id=request_id)
        for name, socket in sockets.items():
            frame = (await _frames(socket, "case.created"))["case.created"]
            payload = frame["payload"]
            assert (payload["case_id"], payload["case_kind"], payload["service_request_id"]) == (case.pk, "service_request", request_id), name
            assert (payload["status"], payload["unit_id"]) == ("submitted", unit.pk) and payload["due_at"]
            # Ids, a status and a deadline: not the elder's name, address or health note.
            text = json.dumps(frame, ensure_ascii=False)
            assert not any(word in text for word in ("王阿婆", "5号楼", "高血压", "张三")), text

        moves = (
            (staff, "accepted", "case.accepted", "accepted"),
            (staff, "assigned", None, None),  # the request's own step: the case stays accepted
            (worker, "in_service", None, None),
            (worker, "completed", "case.resolved", "resolved"),
        )
        for api, to, frame_type, status in moves:
            body = {"to": to, **({"note": "已送达"} if to == "completed" else {})}
            response = await sync_to_async(api.post)(f"{URL}/{request_id}/transitions", body)
            assert response.status_code == 200, response.content
            # The services app's own frame still goes to 派单台, unchanged, beside the engine's.
            expected = ("service_request.updated", *([frame_type] if frame_type else []))
            got = await _frames(sockets["staff"], *expected)
            assert got["service_request.updated"]["payload"]["id"] == request_id
            if frame_type is None:
                continue
            for name, socket in sockets.items():
                frame = got[frame_type] if name == "staff" else (await _frames(socket, frame_type))[frame_type]
                assert frame["payload"]["status"] == status, (name, frame)
                assert frame["payload"]["service_request_id"] == request_id
        # Nothing of the other street's.
        assert await other.receive_nothing(timeout=0.3)
        for socket in (*sockets.values(), other):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_the_engines_sweep_sends_case_escalated_for_an_overdue_request(world, api_for):
    response = api_for(world.son).post(URL, {"item": item("meal-delivery").pk, "extra": MEAL})
    request_id = response.json()["id"]

    async def scenario():
        officer = await socket_for(world.officer, f"staff.street.{world.street.pk}")

        def overdue():
            Case.objects.filter(service_request__id=request_id).update(due_at=timezone.now() - timedelta(minutes=1))
            return do_escalate_overdue_cases()

        assert await sync_to_async(overdue)() == 1
        # The services app's overdue frame, and the engine's.
        frames = await _frames(officer, "service_request.overdue", "case.escalated")
        assert frames["case.escalated"]["payload"]["service_request_id"] == request_id
        await officer.disconnect()

    async_to_sync(scenario)()
