"""角色管理: staff grant and revoke roles in their region; residents' rules decide which."""

from residents.models import Role
from tests import factories as f


def test_committee_staff_makes_a_resident_moderator_and_revokes_it(neighborhood, committee_staff, console_for):
    resident = f.resident(neighborhood, nickname="李阿姨")
    client = console_for(committee_staff)
    page = client.get(f"/console/roles/?region={neighborhood.id}&q=李阿").content.decode()
    assert f'data-user="{resident.id}"' in page  # the member search finds her id
    assert 'value="moderator"' in page and 'value="committee_staff"' not in page  # only what staff may grant
    client.post("/console/roles/grant/", {"region": neighborhood.id, "user": resident.id, "kind": "moderator"})
    role = Role.objects.get(user=resident, kind="moderator", revoked_at__isnull=True)
    page = client.get(f"/console/roles/?region={neighborhood.id}").content.decode()
    assert f'data-role="{role.id}"' in page
    client.post(f"/console/roles/{role.id}/revoke/")
    role.refresh_from_db()
    assert role.revoked_at is not None


def test_street_officer_appoints_committee_staff_by_console_username(neighborhood, street_officer, console_for):
    newcomer = f.UserFactory(username="xiaowang", nickname="小王")
    response = console_for(street_officer).post(
        "/console/roles/grant/",
        {"region": neighborhood.id, "user": "xiaowang", "kind": "committee_staff", "title": "社工"},
        follow=True,
    )
    assert "已授予 小王「居委干部」" in response.content.decode()
    assert Role.objects.filter(user=newcomer, region=neighborhood, kind="committee_staff", title="社工").exists()


def test_committee_staff_cannot_appoint_staff_and_nothing_changes(neighborhood, committee_staff, console_for):
    resident = f.resident(neighborhood)
    response = console_for(committee_staff).post(
        "/console/roles/grant/",
        {"region": neighborhood.id, "user": resident.id, "kind": "committee_staff"},
        follow=True,
    )
    assert "您无权授予该角色" in response.content.decode()
    assert not Role.objects.filter(user=resident).exists()


def test_moderator_must_live_in_the_neighborhood(neighborhood, other_neighborhood, committee_staff, console_for):
    stranger = f.resident(other_neighborhood)
    response = console_for(committee_staff).post(
        "/console/roles/grant/", {"region": neighborhood.id, "user": stranger.id, "kind": "moderator"}, follow=True
    )
    assert "不是本居委/村的认证居民" in response.content.decode()
    assert not Role.objects.filter(user=stranger).exists()


def test_granting_twice_says_the_role_exists(neighborhood, committee_staff, console_for):
    resident = f.resident(neighborhood)
    client = console_for(committee_staff)
    body = {"region": neighborhood.id, "user": resident.id, "kind": "building_leader"}
    client.post("/console/roles/grant/", body)
    response = client.post("/console/roles/grant/", body, follow=True)
    assert "该用户已有此角色" in response.content.decode()
    assert Role.objects.filter(user=resident, kind="building_leader").count() == 1


def test_malformed_grant_changes_nothing(neighborhood, committee_staff, console_for):
    client = console_for(committee_staff)
    response = client.post(
        "/console/roles/grant/", {"region": neighborhood.id, "user": "nobody", "kind": "moderator"}, follow=True
    )
    assert "找不到该用户" in response.content.decode()
    response = client.post(
        "/console/roles/grant/", {"region": neighborhood.id, "user": "1", "kind": "king"}, follow=True
    )
    assert "请选择角色" in response.content.decode()
    assert not Role.objects.filter(granted_by=committee_staff).exists()


def test_officer_of_another_street_gets_404_for_roles_of_this_one(neighborhood, moderator, other_officer, console_for):
    role = Role.objects.get(user=moderator, kind="moderator")
    client = console_for(other_officer)
    assert client.get(f"/console/roles/?region={neighborhood.id}").status_code == 404
    assert client.post(f"/console/roles/{role.id}/revoke/").status_code == 404
    resident = f.resident(neighborhood)
    assert (
        client.post(
            "/console/roles/grant/", {"region": neighborhood.id, "user": resident.id, "kind": "moderator"}
        ).status_code
        == 404
    )
    role.refresh_from_db()
    assert role.revoked_at is None and not Role.objects.filter(user=resident).exists()


def test_revoking_an_already_revoked_role_is_404(neighborhood, moderator, committee_staff, street_officer, console_for):
    role = Role.objects.get(user=moderator, kind="moderator")
    console_for(street_officer).post(f"/console/roles/{role.id}/revoke/")
    # The role is no longer active, so it is no longer visible to anyone's role screens.
    assert console_for(committee_staff).post(f"/console/roles/{role.id}/revoke/").status_code == 404
