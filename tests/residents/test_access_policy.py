"""The access policy (residents/access.py) every endpoint starts from: three kinds of outsider get 404."""

from __future__ import annotations

import pytest

from core.errors import Forbidden, NotFound
from residents import access
from residents.models import PartyIdentityRequest, Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_profile_separates_approved_and_pending_homes(neighborhood, other_neighborhood):
    user = f.resident(neighborhood)
    f.MembershipFactory(user=user, neighborhood=other_neighborhood, status="pending", is_current=False)
    p = access.profile(user)
    assert p.member_of == {neighborhood.pk} and p.pending_in == {other_neighborhood.pk}
    assert not p.is_staff


def test_street_officer_is_staff_of_every_neighborhood_of_the_street_only(neighborhood, street, other_neighborhood):
    sibling = f.NeighborhoodFactory(parent=street)
    p = access.profile(f.officer(street))
    assert p.staff_of == {neighborhood.pk, sibling.pk}
    assert other_neighborhood.pk not in p.staff_of


def test_district_admin_is_staff_of_everything_below(district, neighborhood, other_neighborhood, street, other_street):
    admin = f.UserFactory()
    f.RoleFactory(user=admin, region=district, kind=Role.Kind.DISTRICT_ADMIN)
    p = access.profile(admin)
    assert p.is_district_admin and p.staff_streets == {street.pk, other_street.pk}
    assert p.staff_of == {neighborhood.pk, other_neighborhood.pk}


def test_revoked_roles_give_nothing(neighborhood):
    role = f.RoleFactory(region=neighborhood, kind=Role.Kind.COMMITTEE_STAFF)
    from django.utils import timezone

    Role.objects.filter(pk=role.pk).update(revoked_at=timezone.now())
    assert not access.is_staff_for(role.user, neighborhood.pk)


@pytest.mark.parametrize("who", ["resident_of_other_neighborhood", "pending_member", "officer_of_other_street"])
def test_outsiders_cannot_read_the_neighborhood(neighborhood, other_neighborhood, other_street, who):
    user = {
        "resident_of_other_neighborhood": lambda: f.resident(other_neighborhood),
        "pending_member": lambda: f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False).user,
        "officer_of_other_street": lambda: f.officer(other_street),
    }[who]()
    with pytest.raises(NotFound):
        access.access_neighborhood(user, neighborhood.pk)
    with pytest.raises(NotFound):
        access.access_neighborhood_as_staff(user, neighborhood.pk)


def test_members_and_staff_read_the_neighborhood(neighborhood, street):
    assert access.access_neighborhood(f.resident(neighborhood), neighborhood.pk) == neighborhood
    assert access.access_neighborhood(f.officer(street), neighborhood.pk) == neighborhood
    with pytest.raises(NotFound):
        access.access_neighborhood_as_staff(f.resident(neighborhood), neighborhood.pk)


def test_memberships_are_visible_to_their_owner_and_the_staff_of_the_neighborhood(
    neighborhood, other_neighborhood, other_street, street
):
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    assert access.access_membership(membership.user, membership.pk) == membership
    assert access.access_membership(f.staff(neighborhood), membership.pk) == membership
    assert access.access_membership(f.officer(street), membership.pk) == membership
    for outsider in (f.resident(neighborhood), f.staff(other_neighborhood), f.officer(other_street)):
        with pytest.raises(NotFound):
            access.access_membership(outsider, membership.pk)


def test_beneficiaries_are_visible_to_owner_and_region_staff_only(neighborhood, other_neighborhood, other_street, street):
    elder = f.BeneficiaryFactory(owner=f.resident(neighborhood), neighborhood=neighborhood)
    assert access.access_beneficiary(elder.owner, elder.pk) == elder
    assert access.access_beneficiary(f.officer(street), elder.pk) == elder
    for outsider in (f.resident(neighborhood), f.resident(other_neighborhood), f.officer(other_street)):
        with pytest.raises(NotFound):
            access.access_beneficiary(outsider, elder.pk)
        assert not access.visible_beneficiaries_for(outsider).exists()


def test_deleted_beneficiaries_are_invisible(neighborhood):
    from django.utils import timezone

    elder = f.BeneficiaryFactory(owner=f.resident(neighborhood), neighborhood=neighborhood, deleted_at=timezone.now())
    with pytest.raises(NotFound):
        access.access_beneficiary(elder.owner, elder.pk)


def test_party_identity_requests_follow_the_membership_rule(neighborhood, other_neighborhood):
    request = PartyIdentityRequest.objects.create(user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="A")
    assert access.access_party_identity_request(f.staff(neighborhood), request.pk) == request
    with pytest.raises(NotFound):
        access.access_party_identity_request(f.staff(other_neighborhood), request.pk)


def test_grantable_roles_by_rank(district, street, neighborhood, other_neighborhood):
    admin = f.UserFactory()
    f.RoleFactory(user=admin, region=district, kind=Role.Kind.DISTRICT_ADMIN)
    assert access.grantable_role_kinds(f.staff(neighborhood), neighborhood) == {"moderator", "building_leader"}
    assert access.grantable_role_kinds(f.staff(neighborhood), other_neighborhood) == set()
    assert access.grantable_role_kinds(f.officer(street), neighborhood) == {"moderator", "building_leader", "committee_staff"}
    assert access.grantable_role_kinds(f.officer(street), other_neighborhood) == set()
    assert access.grantable_role_kinds(f.officer(street), street) == set()
    assert "party_member" in access.grantable_role_kinds(admin, neighborhood)
    assert access.grantable_role_kinds(admin, street) == {"street_officer", "service_provider"}
    assert access.grantable_role_kinds(admin, district) == {"district_admin"}
    assert access.grantable_role_kinds(f.resident(neighborhood), neighborhood) == set()


def test_roles_are_visible_only_in_administered_regions(neighborhood, other_neighborhood, street):
    role = f.RoleFactory(region=neighborhood, kind=Role.Kind.MODERATOR)
    assert access.access_role(f.officer(street), role.pk) == role
    with pytest.raises(NotFound):
        access.access_role(f.staff(other_neighborhood), role.pk)
    with pytest.raises(NotFound):
        access.access_role(role.user, role.pk)


def test_require_staff_refuses_residents(neighborhood):
    with pytest.raises(Forbidden):
        access.require_staff(f.resident(neighborhood))


def test_profile_is_memoised_and_forgotten_on_change(neighborhood, django_assert_num_queries):
    user = f.resident(neighborhood)
    access.profile(user)
    with django_assert_num_queries(0):
        access.is_member(user, neighborhood.pk)
    access.forget_profile(user)
    with django_assert_num_queries(1):
        access.profile(user)
