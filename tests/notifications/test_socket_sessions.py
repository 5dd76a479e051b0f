"""WS /ws/v1/ sockets end with the session and the membership that opened them.

Logout closes the sockets of that token, a ban or an erasure every socket of the user
(4401, with a `session_revoked` frame first); a membership or role that ends drops its
streams from the open socket (`subscription_ended`) and re-subscribing is refused.
In-process here (channels' in-memory layer); tests/scale/test_socket_revocation.py
does the same across two server processes on Redis.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from residents.actions import do_ban_user
from residents.models import ApiToken, Membership, Role
from tests import factories as f
from tests.notifications.sockets import connect, publish, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def api_as(raw_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    return client


async def closed_with_session_revoked(communicator, reason: str, timeout: float = 2) -> None:
    """The socket says why, then closes 4401 — within `timeout` seconds."""
    frame = await communicator.receive_json_from(timeout=timeout)
    assert frame["error"]["code"] == "session_revoked", frame
    assert frame["error"]["detail"] == {"reason": reason}
    assert frame["error"]["message"]
    assert (await communicator.receive_output(timeout=timeout)) == {"type": "websocket.close", "code": 4401}


def test_logout_closes_the_socket_of_that_token_and_no_other(neighborhood):
    user = f.resident(neighborhood)
    phone_token, tablet_token = f.token_for(user), f.token_for(user)
    stream = f"neighborhood.{neighborhood.pk}"

    async def scenario():
        phone, tablet = await connect(phone_token), await connect(tablet_token)
        for socket in (phone, tablet):
            assert (await subscribe(socket, stream))["type"] == "subscribed"
        response = await sync_to_async(lambda: api_as(phone_token).post("/api/v1/auth/logout", {}, format="json"))()
        assert response.status_code in (200, 204), response.content
        await closed_with_session_revoked(phone, "logout")
        # The tablet's own token is still good: it keeps its socket and its events.
        await sync_to_async(publish)(stream, "post.created", {"post_id": 1})
        assert (await tablet.receive_json_from(timeout=2))["type"] == "post.created"
        await tablet.disconnect()

    async_to_sync(scenario)()


def test_ban_closes_every_socket_of_the_user_and_stops_post_created(neighborhood):
    user = f.resident(neighborhood)
    neighbor = f.resident(neighborhood)
    raw_tokens = [f.token_for(user), f.token_for(user)]
    watching = f.token_for(neighbor)
    stream = f"neighborhood.{neighborhood.pk}"

    async def scenario():
        sockets = [await connect(raw) for raw in raw_tokens]
        bystander = await connect(watching)
        for socket in [*sockets, bystander]:
            await subscribe(socket, stream)
        await sync_to_async(do_ban_user)(user_id=user.pk, actor=None)
        for socket in sockets:
            await closed_with_session_revoked(socket, "banned")
        await sync_to_async(publish)(stream, "post.created", {"post_id": 2})
        assert (await bystander.receive_json_from(timeout=2))["type"] == "post.created"
        for socket in sockets:
            assert await socket.receive_nothing(timeout=0.2)
        await bystander.disconnect()

    async_to_sync(scenario)()


def test_a_ban_that_rolls_back_closes_nothing(neighborhood):
    user = f.resident(neighborhood)
    raw = f.token_for(user)

    def ban_then_fail():
        try:
            with transaction.atomic():
                do_ban_user(user_id=user.pk, actor=None)
                raise RuntimeError("the surrounding change failed")
        except RuntimeError:
            pass

    async def scenario():
        socket = await connect(raw)
        await sync_to_async(ban_then_fail)()
        assert await socket.receive_nothing(timeout=0.3)
        assert (await subscribe(socket, f"user.{user.pk}"))["type"] == "subscribed"
        await socket.disconnect()

    async_to_sync(scenario)()


def test_erasure_closes_the_users_sockets(neighborhood):
    user = f.resident(neighborhood)
    raw, other_device = f.token_for(user), f.token_for(user)

    async def scenario():
        socket = await connect(other_device)
        await subscribe(socket, f"neighborhood.{neighborhood.pk}")
        response = await sync_to_async(lambda: api_as(raw).delete("/api/v1/me"))()
        assert response.status_code == 204, response.content
        await closed_with_session_revoked(socket, "erased")

    async_to_sync(scenario)()


def test_leaving_drops_the_neighborhood_stream_keeps_the_socket_and_refuses_resubscribing(neighborhood):
    user = f.resident(neighborhood)
    raw = f.token_for(user)
    membership = Membership.objects.get(user=user, neighborhood=neighborhood)
    stream, own = f"neighborhood.{neighborhood.pk}", f"user.{user.pk}"

    async def scenario():
        socket = await connect(raw)
        await subscribe(socket, stream)
        await subscribe(socket, own)
        response = await sync_to_async(lambda: api_as(raw).delete(f"/api/v1/memberships/{membership.pk}"))()
        assert response.status_code == 200, response.content
        ended = await socket.receive_json_from(timeout=2)
        assert ended == {"type": "subscription_ended", "stream": stream, "reason": "membership_ended"}
        await sync_to_async(publish)(stream, "post.created", {"post_id": 3})
        assert await socket.receive_nothing(timeout=0.3)
        # The socket itself stays: the user's own stream still flows.
        await sync_to_async(publish)(own, "notification.created", {})
        assert (await socket.receive_json_from(timeout=2))["type"] == "notification.created"
        refused = await subscribe(socket, stream)
        assert refused["error"]["code"] == "stream_not_found"
        # Refused alone: the socket stays open with its own stream.
        await sync_to_async(publish)(own, "notification.created", {})
        assert (await socket.receive_json_from(timeout=2))["type"] == "notification.created"

    async_to_sync(scenario)()


def test_a_stream_another_role_still_grants_is_kept(neighborhood, street):
    # A street officer who also sat on the committee: losing the committee seat leaves the
    # neighborhood's staff stream readable through the street role.
    officer = f.officer(street)
    seat = f.RoleFactory(user=officer, region=neighborhood, kind=Role.Kind.COMMITTEE_STAFF)
    superior = f.officer(street)
    raw = f.token_for(officer)

    async def scenario():
        socket = await connect(raw)
        await subscribe(socket, f"staff.neighborhood.{neighborhood.pk}")
        response = await sync_to_async(lambda: api_as(f.token_for(superior)).delete(f"/api/v1/roles/{seat.pk}"))()
        assert response.status_code in (200, 204), response.content
        assert await socket.receive_nothing(timeout=0.5)
        await sync_to_async(publish)(f"staff.neighborhood.{neighborhood.pk}", "membership.applied", {})
        assert (await socket.receive_json_from(timeout=2))["type"] == "membership.applied"
        await socket.disconnect()

    async_to_sync(scenario)()


def test_revoked_committee_role_drops_the_staff_stream(neighborhood, street):
    committee = f.staff(neighborhood)
    officer = f.officer(street)
    role = Role.objects.get(user=committee, kind=Role.Kind.COMMITTEE_STAFF)
    raw = f.token_for(committee)
    staff_stream = f"staff.neighborhood.{neighborhood.pk}"

    async def scenario():
        socket = await connect(raw)
        await subscribe(socket, staff_stream)
        await subscribe(socket, f"user.{committee.pk}")
        response = await sync_to_async(lambda: api_as(f.token_for(officer)).delete(f"/api/v1/roles/{role.pk}"))()
        assert response.status_code in (200, 204), response.content
        ended = await socket.receive_json_from(timeout=2)
        assert ended == {"type": "subscription_ended", "stream": staff_stream, "reason": "role_revoked"}
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_revoked_token_cannot_subscribe_even_if_no_message_arrived(neighborhood):
    user = f.resident(neighborhood)
    raw = f.token_for(user)

    async def scenario():
        socket = await connect(raw)
        # Revoked behind the actions' back: no control message is sent.
        await sync_to_async(lambda: ApiToken.objects.filter(user=user).update(revoked_at=timezone.now()))()
        refused = await subscribe(socket, f"neighborhood.{neighborhood.pk}")
        assert refused["error"]["code"] == "token_invalid"
        assert (await socket.receive_output(timeout=2))["code"] == 4401

    async_to_sync(scenario)()


def test_a_membership_ended_without_a_message_is_not_resubscribed_from_a_stale_profile(
    neighborhood, other_neighborhood
):
    user = f.resident(neighborhood)
    f.MembershipFactory(user=user, neighborhood=other_neighborhood, is_current=False)
    raw = f.token_for(user)

    async def scenario():
        socket = await connect(raw)
        # The first subscribe reads the user's memberships...
        assert (await subscribe(socket, f"neighborhood.{other_neighborhood.pk}"))["type"] == "subscribed"
        await sync_to_async(
            lambda: Membership.objects.filter(user=user, neighborhood=neighborhood).update(status="left")
        )()
        # ...the next one must read them again.
        refused = await subscribe(socket, f"neighborhood.{neighborhood.pk}")
        assert refused["error"]["code"] == "stream_not_found"

    async_to_sync(scenario)()


def test_periodic_recheck_closes_a_socket_whose_revocation_message_was_lost(settings, neighborhood):
    settings.WS_RECHECK_SECONDS = 0.2
    user = f.resident(neighborhood)
    raw = f.token_for(user)

    async def scenario():
        socket = await connect(raw)
        await subscribe(socket, f"neighborhood.{neighborhood.pk}")
        await sync_to_async(lambda: ApiToken.objects.filter(user=user).update(revoked_at=timezone.now()))()
        started = asyncio.get_running_loop().time()
        frame = await socket.receive_json_from(timeout=2)
        assert frame["error"]["code"] == "token_invalid"
        assert (await socket.receive_output(timeout=2))["code"] == 4401
        assert asyncio.get_running_loop().time() - started < 1.0

    async_to_sync(scenario)()
