"""Realtime frames for matters: after each HTTP move (create, transfer, accept, resolve, joint)
and the escalation job, the unit's members (`unit.<id>`), the street's officers
(`staff.street.<id>`) and the residents who follow the matter (`user.<id>`) receive a frame on
their WebSocket. The payload carries ids and the status, never a name or a phone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from cases.models import Case
from tests import factories as f
from tests.conftest import Api
from tests.matters.conftest import created, url
from tests.notifications.sockets import socket_for

pytestmark = pytest.mark.django_db(transaction=True)


async def _case_frames(communicator, count: int) -> list[dict]:
    """The next `count` case frames (inbox frames on a user's stream are skipped)."""
    frames = []
    while len(frames) < count:
        frame = await communicator.receive_json_from(timeout=3)
        if frame.get("type", "").startswith("case."):
            frames.append(frame)
    return frames


def _no_personal_data(frame: dict, *words: str) -> None:
    text = json.dumps(frame, ensure_ascii=False)
    for word in words:
        assert word not in text, (word, frame)


def test_unit_officers_and_followers_see_each_move(world):
    world.reporter.phone = "13800000001"
    world.reporter.save(update_fields=["phone"])
    reporter, neighbor = Api(world.reporter), Api(world.neighbor)
    lead = Api(world.property_worker)

    async def scenario():
        unit_socket = await socket_for(world.property_worker, f"unit.{world.property.pk}")
        urban_socket = await socket_for(world.urban_worker, f"unit.{world.urban.pk}")
        officer_socket = await socket_for(world.officer, f"staff.street.{world.street.pk}")
        reporter_socket = await socket_for(world.reporter, f"user.{world.reporter.pk}")

        matter = await sync_to_async(created)(reporter, world.repair, hide_name=True)
        for socket, stream in ((unit_socket, f"unit.{world.property.pk}"), (officer_socket, f"staff.street.{world.street.pk}"),
                               (reporter_socket, f"user.{world.reporter.pk}")):
            [frame] = await _case_frames(socket, 1)
            assert frame["type"] == "case.created" and frame["stream"] == stream
            assert frame["payload"]["matter_id"] == matter["id"] and frame["payload"]["status"] == "submitted"
            assert frame["payload"]["unit_id"] == world.property.pk and frame["payload"]["due_at"]
            _no_personal_data(frame, "张三", "13800000001", "路灯坏了", "5号楼")
        assert await urban_socket.receive_nothing(timeout=0.2)  # not the urban team's case

        assert (await sync_to_async(neighbor.post)(url(matter["id"], "plus-one"))).status_code == 200
        neighbor_socket = await socket_for(world.neighbor, f"user.{world.neighbor.pk}")

        await sync_to_async(lead.post)(url(matter["id"], "accept"))
        for socket in (unit_socket, officer_socket, reporter_socket, neighbor_socket):
            [frame] = await _case_frames(socket, 1)
            assert frame["type"] == "case.accepted" and frame["payload"]["status"] == "accepted"

        await sync_to_async(lead.post)(url(matter["id"], "joint"), {"units": [world.urban.pk], "reason": "占道施工"})
        [frame] = await _case_frames(urban_socket, 1)
        assert frame["type"] == "case.joint_requested" and frame["payload"]["matter_id"] == matter["id"]
        for socket in (unit_socket, officer_socket, reporter_socket, neighbor_socket):
            assert (await _case_frames(socket, 1))[0]["type"] == "case.joint_requested"

        await sync_to_async(lead.post)(url(matter["id"], "resolve"), {"answer": "已修好"})
        for socket in (unit_socket, urban_socket, officer_socket, reporter_socket, neighbor_socket):
            [frame] = await _case_frames(socket, 1)
            assert frame["type"] == "case.resolved" and frame["payload"]["status"] == "resolved"
            assert frame["payload"]["due_at"] is None
            _no_personal_data(frame, "张三", "李四", "13800000001", "物业王经理")
        for socket in (unit_socket, urban_socket, officer_socket, reporter_socket, neighbor_socket):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_transfer_reaches_both_units_and_escalation_reaches_the_supervisor(world):
    reporter, lead = Api(world.reporter), Api(world.property_worker)

    async def scenario():
        unit_socket = await socket_for(world.property_worker, f"unit.{world.property.pk}")
        committee_socket = await socket_for(world.committee_worker, f"unit.{world.committee.pk}")
        grid_socket = await socket_for(world.grid_worker, f"unit.{world.grid.pk}")
        matter = await sync_to_async(created)(reporter, world.repair)
        await _case_frames(unit_socket, 1)

        await sync_to_async(lead.post)(url(matter["id"], "transfer"), {"unit": world.committee.pk, "reason": "属居委协调"})
        for socket in (unit_socket, committee_socket):
            [frame] = await _case_frames(socket, 1)
            assert frame["type"] == "case.transferred" and frame["payload"]["unit_id"] == world.committee.pk

        def overdue():
            Case.objects.filter(matter__id=matter["id"]).update(due_at=timezone.now() - timedelta(minutes=1))
            return do_escalate_overdue_cases()

        assert await sync_to_async(overdue)() == 1
        for socket in (committee_socket, grid_socket):
            [frame] = await _case_frames(socket, 1)
            assert frame["type"] == "case.escalated" and frame["payload"]["supervising_unit_id"] == world.grid.pk
        for socket in (unit_socket, committee_socket, grid_socket):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_only_a_units_members_may_read_its_stream(world):
    async def scenario():
        raw = await sync_to_async(f.token_for)(world.neighbor)
        from config.asgi import application

        communicator = WebsocketCommunicator(application, f"/ws/v1/?token={raw}")
        assert (await communicator.connect())[0]
        for stream in (f"unit.{world.property.pk}", "unit.abc"):
            await communicator.send_json_to({"action": "subscribe", "stream": stream})
            refused = await communicator.receive_json_from(timeout=2)
            assert refused["error"]["code"] == "stream_not_found" and refused["error"]["detail"] == {"stream": stream}
        await communicator.disconnect()

    async_to_sync(scenario)()
