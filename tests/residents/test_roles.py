"""Who may grant which role where (roles table in docs/residents.md)."""

from __future__ import annotations

import pytest

from residents.models import Role
from tests import factories as f
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def _grant(client, user, region, kind, **kw):
    return client.post("/api/v1/roles", {"user": user.pk, "region": region.pk, "kind": kind, "title": "测试"}, **kw)


def _admin(district):
    user = f.UserFactory()
    f.RoleFactory(user=user, region=district, kind=Role.Kind.DISTRICT_ADMIN)
    return user


def test_committee_staff_makes_a_resident_moderator_and_building_leader(api_for, neighborhood):
    staff, resident = f.staff(neighborhood), f.resident(neighborhood)
    client = api_for(staff)
    response = _grant(client, resident, neighborhood, "moderator")
    assert response.status_code == 201, response.content
    assert response.json()["user"]["id"] == resident.pk
    assert _grant(client, resident, neighborhood, "building_leader").status_code == 201
    assert Role.objects.filter(user=resident, granted_by=staff).count() == 2


def test_committee_staff_cannot_make_committee_staff(api_for, neighborhood):
    response = _grant(api_for(f.staff(neighborhood)), f.resident(neighborhood), neighborhood, "committee_staff")
    assert_error(response, 403, "role_grant_forbidden")


def test_street_officer_appoints_committee_staff_in_their_street(api_for, neighborhood, street):
    newcomer = f.UserFactory()
    assert _grant(api_for(f.officer(street)), newcomer, neighborhood, "committee_staff").status_code == 201


def test_street_officer_cannot_appoint_street_officers(api_for, street):
    assert_error(_grant(api_for(f.officer(street)), f.UserFactory(), street, "street_officer"), 403, "role_grant_forbidden")


def test_district_admin_grants_anything_in_the_district(api_for, district, street, neighborhood):
    client = api_for(_admin(district))
    assert _grant(client, f.UserFactory(), street, "street_officer").status_code == 201
    assert _grant(client, f.UserFactory(), street, "service_provider").status_code == 201
    assert _grant(client, f.UserFactory(), neighborhood, "committee_staff").status_code == 201
    assert _grant(client, f.resident(neighborhood), neighborhood, "party_member").status_code == 201
    assert _grant(client, f.UserFactory(), district, "district_admin").status_code == 201


def test_role_at_the_wrong_level_is_400(api_for, district, street):
    assert_error(_grant(api_for(_admin(district)), f.UserFactory(), street, "committee_staff"), 400, "role_level_mismatch")


def test_moderator_must_live_there(api_for, neighborhood):
    assert_error(_grant(api_for(f.staff(neighborhood)), f.UserFactory(), neighborhood, "moderator"), 422, "grantee_not_member")


def test_granting_twice_is_409_and_idempotency_key_replays(api_for, neighborhood):
    client = api_for(f.staff(neighborhood))
    resident = f.resident(neighborhood)
    headers = {"Idempotency-Key": "grant-1"}
    assert _grant(client, resident, neighborhood, "moderator", headers=headers).status_code == 201
    assert _grant(client, resident, neighborhood, "moderator", headers=headers)["Idempotent-Replayed"] == "true"
    assert_error(_grant(client, resident, neighborhood, "moderator"), 409, "role_exists")
    assert Role.objects.filter(kind="moderator").count() == 1


@pytest.mark.parametrize("who", ["resident", "other_staff", "officer_of_other_street", "moderator"])
def test_outsiders_get_404_when_granting(api_for, neighborhood, other_neighborhood, other_street, who):
    outsider = {
        "resident": lambda: f.resident(neighborhood),
        "other_staff": lambda: f.staff(other_neighborhood),
        "officer_of_other_street": lambda: f.officer(other_street),
        "moderator": lambda: f.RoleFactory(region=neighborhood, kind=Role.Kind.MODERATOR).user,
    }[who]()
    assert_error(_grant(api_for(outsider), f.resident(neighborhood), neighborhood, "moderator"), 404)
    assert_error(api_for(outsider).get("/api/v1/roles", {"region": neighborhood.pk}), 404)
    assert not Role.objects.filter(granted_by=outsider).exists()


@pytest.mark.parametrize(
    "payload",
    [{}, {"user": 1, "region": 1, "kind": "king"}, {"user": 1, "region": 1, "kind": "moderator", "title": "长" * 33}],
    ids=["empty", "unknown-kind", "long-title"],
)
def test_bad_grant_is_400(api_for, neighborhood, payload):
    assert_error(api_for(f.staff(neighborhood)).post("/api/v1/roles", payload), 400, "invalid_input")


def test_unknown_user_or_region_is_404(api_for, neighborhood):
    client = api_for(f.staff(neighborhood))
    assert_error(client.post("/api/v1/roles", {"user": 999999, "region": neighborhood.pk, "kind": "moderator"}), 404)
    assert_error(client.post("/api/v1/roles", {"user": 1, "region": 999999, "kind": "moderator"}), 404)


def test_staff_lists_the_roles_of_their_region_and_street_officer_sees_below(api_for, neighborhood, street, other_neighborhood):
    staff = f.staff(neighborhood)
    f.RoleFactory(user=f.resident(neighborhood), region=neighborhood, kind=Role.Kind.MODERATOR)
    f.staff(other_neighborhood)
    kinds = [r["kind"] for r in api_for(staff).get("/api/v1/roles", {"region": neighborhood.pk}).json()["results"]]
    assert sorted(kinds) == ["committee_staff", "moderator"]
    officer = f.officer(street)
    body = api_for(officer).get("/api/v1/roles", {"region": street.pk}).json()
    assert sorted(r["kind"] for r in body["results"]) == ["committee_staff", "moderator", "street_officer"]


def test_role_list_runs_fixed_queries(api_for, neighborhood, django_assert_max_num_queries):
    client = api_for(f.staff(neighborhood))
    client.get("/api/v1/me")
    counts = []
    for n in (3, 30):
        for _ in range(n):
            f.RoleFactory(user=f.resident(neighborhood), region=neighborhood, kind=Role.Kind.BUILDING_LEADER)
        with django_assert_max_num_queries(8) as captured:
            client.get("/api/v1/roles", {"region": neighborhood.pk, "limit": 100})
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_revoking_a_role(api_for, neighborhood):
    role = f.RoleFactory(user=f.resident(neighborhood), region=neighborhood, kind=Role.Kind.MODERATOR)
    client = api_for(f.staff(neighborhood))
    assert client.delete(f"/api/v1/roles/{role.pk}").status_code == 204
    role.refresh_from_db()
    assert role.revoked_at is not None
    assert_error(client.delete(f"/api/v1/roles/{role.pk}"), 404)


def test_committee_staff_cannot_revoke_a_colleague(api_for, neighborhood):
    colleague = f.RoleFactory(region=neighborhood, kind=Role.Kind.COMMITTEE_STAFF)
    assert_error(api_for(f.staff(neighborhood)).delete(f"/api/v1/roles/{colleague.pk}"), 403, "role_grant_forbidden")


def test_officer_of_another_street_cannot_revoke(api_for, neighborhood, other_street):
    role = f.RoleFactory(region=neighborhood, kind=Role.Kind.COMMITTEE_STAFF)
    assert_error(api_for(f.officer(other_street)).delete(f"/api/v1/roles/{role.pk}"), 404)
    role.refresh_from_db()
    assert role.revoked_at is None
