"""The periodic re-check of a process's sockets in batches (notifications/recheck.py): the same
answers as the per-socket check, in a fixed number of queries whatever the number of sockets, and on
a real socket a stream whose membership ended without its control message is dropped."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.recheck import check_sessions
from residents.access import load_profiles, profile
from residents.models import ApiToken, Membership, Role, User
from tests import factories as f
from tests.notifications.sockets import socket_for

pytestmark = pytest.mark.django_db(transaction=True)


def _people(neighborhood, other_neighborhood, street, district, n: int) -> list[User]:
    """n of each kind: residents, pending applicants, staff, officers, district admins, and
    residents who are also moderators elsewhere."""
    people = []
    for _ in range(n):
        people.append(f.resident(neighborhood))
        pending = f.UserFactory()
        f.MembershipFactory(user=pending, neighborhood=other_neighborhood, status=Membership.Status.PENDING)
        people += [pending, f.staff(neighborhood), f.officer(street)]
        admin = f.UserFactory()
        f.RoleFactory(user=admin, region=district, kind=Role.Kind.DISTRICT_ADMIN)
        moderator = f.resident(other_neighborhood)
        f.RoleFactory(user=moderator, region=neighborhood, kind=Role.Kind.MODERATOR)
        people += [admin, moderator]
    return people


def test_load_profiles_gives_what_profile_gives(neighborhood, other_neighborhood, street, district):
    people = _people(neighborhood, other_neighborhood, street, district, 2)
    batch = list(User.objects.filter(pk__in=[u.pk for u in people]))
    load_profiles(batch)
    for user in batch:
        assert user._access_profile == profile(User.objects.get(pk=user.pk)), user


def _entries(people, neighborhood, other_neighborhood, street):
    held = [f"neighborhood.{neighborhood.pk}", f"neighborhood.{other_neighborhood.pk}",
            f"staff.neighborhood.{neighborhood.pk}", f"staff.street.{street.pk}"]
    return [(ApiToken.issue(user)[0].pk, held) for user in people]


def test_check_sessions_answers_each_socket_in_a_fixed_number_of_queries(
    neighborhood, other_neighborhood, street, district
):
    few = _people(neighborhood, other_neighborhood, street, district, 1)
    many = _people(neighborhood, other_neighborhood, street, district, 8)
    counts = []
    for people in (few, many):
        entries = _entries(people, neighborhood, other_neighborhood, street)
        with CaptureQueriesContext(connection) as queries:
            results = check_sessions(entries)
        counts.append(len(queries))
        assert len(results) == len(entries)
    assert counts[0] == counts[1] <= 5, counts

    # The answers: what each kind may no longer read of the four streams, as the per-socket check says.
    resident, pending, staff, officer, admin, moderator = few
    revoked = ApiToken.issue(resident)[0]
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    expired = ApiToken.issue(staff)[0]
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    entries = _entries(few, neighborhood, other_neighborhood, street)
    entries += [(revoked.pk, []), (expired.pk, []), (10**9, [])]
    results = check_sessions(entries)
    n, o = f"neighborhood.{neighborhood.pk}", f"neighborhood.{other_neighborhood.pk}"
    staff_n, staff_s = f"staff.neighborhood.{neighborhood.pk}", f"staff.street.{street.pk}"
    assert results == [
        (None, {o, staff_n, staff_s}),  # resident of neighborhood
        (None, {n, o, staff_n, staff_s}),  # pending in the other: reads nothing yet
        (None, {o, staff_s}),  # staff of neighborhood
        (None, {o}),  # officer of the street (the other neighborhood is on another street)
        (None, set()),  # district admin reads all four
        (None, {n, staff_n, staff_s}),  # member of the other, moderator of neighborhood
        ("token_invalid", set()),
        ("token_expired", set()),
        ("token_invalid", set()),  # no such token
    ]


def test_a_stream_whose_membership_ended_unannounced_is_dropped_by_the_round(settings, neighborhood):
    settings.WS_RECHECK_SECONDS = 0.2
    user = f.resident(neighborhood)
    stream = f"neighborhood.{neighborhood.pk}"

    async def scenario():
        socket = await socket_for(user, stream, f"user.{user.pk}")
        # Left without the signal (as if Redis had lost the control message).
        await sync_to_async(lambda: Membership.objects.filter(user=user).update(status=Membership.Status.LEFT))()
        frame = await socket.receive_json_from(timeout=2)
        assert frame == {"type": "subscription_ended", "stream": stream, "reason": "access_changed"}
        assert await socket.receive_nothing(timeout=0.6)  # the user's own stream stays, the socket too
        await socket.disconnect()
        await asyncio.sleep(0)

    async_to_sync(scenario)()


def test_check_tokens_reads_only_what_it_decides_on(neighborhood):
    """Banned, erased and deactivated users' tokens are refused as one request would refuse them; a
    good token's user is read without its other columns (no phone is read, let alone decrypted)."""
    from residents.auth import check_tokens, reauthenticate_token

    good, banned, erased, inactive = (f.resident(neighborhood, phone="13800138000") for _ in range(4))
    User.objects.filter(pk=banned.pk).update(is_banned=True)
    User.objects.filter(pk=erased.pk).update(deleted_at=timezone.now())
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    tokens = {user: ApiToken.issue(user)[0].pk for user in (good, banned, erased, inactive)}
    with CaptureQueriesContext(connection) as queries:
        checked = check_tokens(set(tokens.values()))
    assert len(queries) == 1 and "phone" not in queries[0]["sql"], queries.captured_queries
    assert {user: checked[token][1] for user, token in tokens.items()} == {
        good: None, banned: "token_invalid", erased: "token_invalid", inactive: "token_invalid"
    }
    user = checked[tokens[good]][0]
    assert user.pk == good.pk and user.is_authenticated and "phone" in user.get_deferred_fields()
    assert reauthenticate_token(tokens[good]).pk == good.pk
    assert user.phone == "13800138000"  # read on demand, decrypted then
