"""Joining a 居委/村: apply (by choice or QR scene), staff decide, current home, leaving."""

from __future__ import annotations

import pytest

from core.crypto import blind_index
from core.errors import Conflict
from notifications.models import Notification
from residents.actions import do_decide_membership
from residents.models import Membership, Role
from tests import factories as f
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

APPLY = {"building": "5号楼", "room": "301室"}


def test_resident_applies_by_choosing_a_neighborhood(api_for, neighborhood):
    user = f.UserFactory()
    response = api_for(user).post("/api/v1/memberships", {"neighborhood": neighborhood.pk, **APPLY, "is_owner": True})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["room"] == "301室" and body["joined_via"] == "choose"
    membership = Membership.objects.get(pk=body["id"])
    assert membership.household_key == blind_index(f"{neighborhood.pk}|5号楼|301室", purpose="household")
    assert not membership.is_current


def test_resident_applies_by_qrcode_scene_with_building_group(api_for, neighborhood):
    group = f.BuildingGroupFactory(parent=neighborhood)
    response = api_for(f.UserFactory()).post(
        "/api/v1/memberships", {"scene": f"n={neighborhood.pk}", "building_group": group.pk, **APPLY}
    )
    assert response.status_code == 201
    assert response.json()["joined_via"] == "qrcode"
    assert response.json()["building_group"]["id"] == group.pk


def test_the_same_application_twice_returns_the_first(api_for, neighborhood):
    client = api_for(f.UserFactory())
    first = client.post("/api/v1/memberships", {"neighborhood": neighborhood.pk, **APPLY})
    second = client.post("/api/v1/memberships", {"neighborhood": neighborhood.pk, **APPLY})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Membership.objects.count() == 1


def test_a_second_home_in_the_same_neighborhood_is_409(api_for, neighborhood):
    client = api_for(f.UserFactory())
    client.post("/api/v1/memberships", {"neighborhood": neighborhood.pk, **APPLY})
    error = assert_error(
        client.post("/api/v1/memberships", {"neighborhood": neighborhood.pk, "building": "6号楼", "room": "101室"}),
        409,
        "membership_exists",
    )
    assert error["detail"]["current"] == "pending"
    assert Membership.objects.count() == 1


def test_double_submit_with_idempotency_key_makes_one_row(api_for, neighborhood):
    client = api_for(f.UserFactory())
    headers = {"Idempotency-Key": "join-1"}
    first = client.post("/api/v1/memberships", {"neighborhood": neighborhood.pk, **APPLY}, headers=headers)
    second = client.post("/api/v1/memberships", {"neighborhood": neighborhood.pk, **APPLY}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Membership.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"building": "5号楼", "room": "301室"},
        {"neighborhood": 1, "scene": "n=1", **APPLY},
        {"scene": "x=1", **APPLY},
        {"neighborhood": 1, "building": "楼" * 33, "room": "1"},
        {"neighborhood": 1, "building": "1", "room": "室" * 33},
        {"neighborhood": 1, **APPLY, "status": "approved"},
        {"neighborhood": 1, **APPLY, "floor_area": "-3"},
    ],
    ids=["no-place", "both", "bad-scene", "long-building", "long-room", "unknown-field", "negative-area"],
)
def test_bad_application_is_400_and_creates_nothing(api_for, neighborhood, payload):
    assert_error(api_for(f.UserFactory()).post("/api/v1/memberships", payload), 400, "invalid_input")
    assert Membership.objects.count() == 0


def test_malformed_json_is_400(api_for, db):
    assert_error(api_for(f.UserFactory()).raw_post("/api/v1/memberships", b"[1,"), 400)


def test_unknown_neighborhood_or_street_id_is_404(api_for, street):
    client = api_for(f.UserFactory())
    assert_error(client.post("/api/v1/memberships", {"neighborhood": 999999, **APPLY}), 404, "region_not_found")
    assert_error(client.post("/api/v1/memberships", {"neighborhood": street.pk, **APPLY}), 404, "region_not_found")
    assert_error(client.post("/api/v1/memberships", {"scene": "n=999999", **APPLY}), 404, "region_not_found")


def test_building_group_of_another_neighborhood_is_400(api_for, neighborhood, other_neighborhood):
    group = f.BuildingGroupFactory(parent=other_neighborhood)
    response = api_for(f.UserFactory()).post(
        "/api/v1/memberships", {"neighborhood": neighborhood.pk, "building_group": group.pk, **APPLY}
    )
    assert_error(response, 400, "building_group_mismatch")


# --- staff queue and decisions --------------------------------------------------------


def test_staff_queue_shows_pending_applications_with_room_masked(api_for, neighborhood, other_neighborhood):
    staff = f.staff(neighborhood)
    mine = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False, room="1201室")
    f.MembershipFactory(neighborhood=other_neighborhood, status="pending", is_current=False)
    f.MembershipFactory(neighborhood=neighborhood)  # approved
    body = api_for(staff).get("/api/v1/memberships", {"scope": "staff", "status": "pending"}).json()
    assert [m["id"] for m in body["results"]] == [mine.pk]
    assert body["results"][0]["room"] == "1****"
    assert "1201室" not in str(body)  # the full room; bare digits could match a timestamp


def test_street_officer_sees_the_queues_of_the_whole_street(api_for, neighborhood, street, other_neighborhood):
    pending = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    f.MembershipFactory(neighborhood=other_neighborhood, status="pending", is_current=False)
    body = api_for(f.officer(street)).get("/api/v1/memberships", {"scope": "staff"}).json()
    assert [m["id"] for m in body["results"]] == [pending.pk]


def test_staff_queue_runs_fixed_queries(api_for, neighborhood, django_assert_max_num_queries):
    staff = f.staff(neighborhood)
    client = api_for(staff)
    client.get("/api/v1/me")  # the token's last_used_at write happens once, not per page
    counts = []
    for n in (5, 45):
        f.MembershipFactory.create_batch(n, neighborhood=neighborhood, status="pending", is_current=False)
        with django_assert_max_num_queries(10) as captured:
            assert len(client.get("/api/v1/memberships", {"scope": "staff", "limit": 100}).json()["results"]) >= n
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_resident_asking_for_the_staff_queue_is_403(api_for, neighborhood):
    assert_error(api_for(f.resident(neighborhood)).get("/api/v1/memberships", {"scope": "staff"}), 403, "staff_only")


def test_staff_filtering_another_neighborhood_gets_404(api_for, neighborhood, other_neighborhood):
    response = api_for(f.staff(neighborhood)).get(
        "/api/v1/memberships", {"scope": "staff", "neighborhood": other_neighborhood.pk}
    )
    assert_error(response, 404)


def test_staff_approves_and_the_applicant_is_notified_and_becomes_a_member(
    api_for, neighborhood, django_capture_on_commit_callbacks
):
    applicant = f.UserFactory()
    membership = f.MembershipFactory(user=applicant, neighborhood=neighborhood, status="pending", is_current=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(f.staff(neighborhood)).post(
            f"/api/v1/memberships/{membership.pk}/decision", {"decision": "approve"}
        )
    assert response.status_code == 200, response.content
    membership.refresh_from_db()
    assert membership.status == "approved" and membership.is_current and membership.decided_by_id
    note = Notification.objects.get(recipient=applicant)
    assert (note.kind, note.event_key) == ("membership_approved", f"membership:{membership.pk}:approved")
    assert api_for(applicant).get("/api/v1/me").json()["current_neighborhood"]["id"] == neighborhood.pk


def test_staff_rejects_with_a_reason(api_for, neighborhood):
    applicant = f.UserFactory()
    membership = f.MembershipFactory(user=applicant, neighborhood=neighborhood, status="pending", is_current=False)
    client = api_for(f.staff(neighborhood))
    assert_error(client.post(f"/api/v1/memberships/{membership.pk}/decision", {"decision": "reject"}), 400, "reason_required")
    response = client.post(f"/api/v1/memberships/{membership.pk}/decision", {"decision": "reject", "reason": "查无此户"})
    assert response.status_code == 200
    assert Notification.objects.get(recipient=applicant).kind == "membership_rejected"
    membership.refresh_from_db()
    assert membership.reject_reason == "查无此户"


def test_second_staff_deciding_the_same_application_gets_409_with_current_status(api_for, neighborhood):
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    chen, wang = api_for(f.staff(neighborhood)), api_for(f.staff(neighborhood))
    assert chen.post(f"/api/v1/memberships/{membership.pk}/decision", {"decision": "approve"}).status_code == 200
    error = assert_error(
        wang.post(f"/api/v1/memberships/{membership.pk}/decision", {"decision": "reject", "reason": "重复"}),
        409,
        "membership_state_changed",
    )
    assert error["detail"] == {"current": "approved"}
    assert Notification.objects.filter(kind="membership_rejected").count() == 0


def test_decision_rechecks_the_state_under_the_lock(neighborhood):
    """Both staff loaded the pending application; the second action sees the first's change."""
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    chen, wang = f.staff(neighborhood), f.staff(neighborhood)
    stale = Membership.objects.get(pk=membership.pk)
    do_decide_membership(membership_id=membership.pk, actor=chen, approve=False, reason="信息不符")
    assert stale.status == "pending"
    with pytest.raises(Conflict) as excinfo:
        do_decide_membership(membership_id=stale.pk, actor=wang, approve=True)
    assert excinfo.value.detail == {"current": "rejected"}
    membership.refresh_from_db()
    assert membership.status == "rejected" and membership.decided_by == chen


@pytest.mark.parametrize("who", ["other_staff", "officer_of_other_street", "resident", "pending_member"])
def test_outsiders_cannot_see_or_decide_an_application(api_for, neighborhood, other_neighborhood, other_street, who):
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    outsider = {
        "other_staff": lambda: f.staff(other_neighborhood),
        "officer_of_other_street": lambda: f.officer(other_street),
        "resident": lambda: f.resident(neighborhood),
        "pending_member": lambda: f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False).user,
    }[who]()
    client = api_for(outsider)
    assert_error(client.post(f"/api/v1/memberships/{membership.pk}/decision", {"decision": "approve"}), 404)
    assert_error(client.get(f"/api/v1/memberships/{membership.pk}"), 404)
    assert_error(client.delete(f"/api/v1/memberships/{membership.pk}"), 404)
    membership.refresh_from_db()
    assert membership.status == "pending"


def test_applicant_cannot_approve_their_own_application(api_for, neighborhood):
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    response = api_for(membership.user).post(f"/api/v1/memberships/{membership.pk}/decision", {"decision": "approve"})
    assert_error(response, 403, "staff_only")


@pytest.mark.parametrize("payload", [{}, {"decision": "maybe"}, {"decision": "reject", "reason": "长" * 201}])
def test_bad_decision_is_400(api_for, neighborhood, payload):
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    assert_error(api_for(f.staff(neighborhood)).post(f"/api/v1/memberships/{membership.pk}/decision", payload), 400)
    membership.refresh_from_db()
    assert membership.status == "pending"


# --- current home and leaving ---------------------------------------------------------


def test_resident_with_two_homes_switches_the_current_one(api_for, neighborhood, other_neighborhood):
    user = f.resident(neighborhood)
    second = f.MembershipFactory(user=user, neighborhood=other_neighborhood, is_current=False)
    client = api_for(user)
    assert client.post(f"/api/v1/memberships/{second.pk}/current").status_code == 200
    assert client.get("/api/v1/me").json()["current_neighborhood"]["id"] == other_neighborhood.pk
    assert Membership.objects.filter(user=user, is_current=True).count() == 1


def test_a_pending_home_cannot_become_current(api_for, neighborhood):
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    error = assert_error(api_for(membership.user).post(f"/api/v1/memberships/{membership.pk}/current"), 409)
    assert error["detail"]["current"] == "pending"


def test_staff_cannot_set_someone_elses_current_home(api_for, neighborhood):
    membership = f.MembershipFactory(neighborhood=neighborhood, is_current=False)
    assert_error(api_for(f.staff(neighborhood)).post(f"/api/v1/memberships/{membership.pk}/current"), 404)


def test_leaving_ends_the_membership_and_resident_roles_there(api_for, neighborhood, other_neighborhood):
    user = f.resident(neighborhood)
    other = f.MembershipFactory(user=user, neighborhood=other_neighborhood, is_current=False)
    f.RoleFactory(user=user, region=neighborhood, kind=Role.Kind.MODERATOR)
    membership = Membership.objects.get(user=user, neighborhood=neighborhood)
    client = api_for(user)
    assert client.delete(f"/api/v1/memberships/{membership.pk}").json()["status"] == "left"
    assert not Role.objects.filter(user=user, revoked_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.is_current
    assert_error(client.delete(f"/api/v1/memberships/{membership.pk}"), 409, "membership_state_changed")
    # Having left, they may apply again.
    assert client.post("/api/v1/memberships", {"neighborhood": neighborhood.pk, **APPLY}).status_code == 201


def test_staff_cannot_make_a_resident_leave(api_for, neighborhood):
    membership = f.MembershipFactory(neighborhood=neighborhood)
    assert_error(api_for(f.staff(neighborhood)).delete(f"/api/v1/memberships/{membership.pk}"), 403, "owner_only")


def test_my_memberships_lists_only_mine(api_for, neighborhood):
    user = f.resident(neighborhood)
    f.MembershipFactory(neighborhood=neighborhood)
    body = api_for(user).get("/api/v1/memberships").json()
    assert [m["neighborhood"]["id"] for m in body["results"]] == [neighborhood.pk]
    assert body["results"][0]["room"]  # the applicant sees their own room
