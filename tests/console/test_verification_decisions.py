"""Deciding from the console goes through residents.actions."""

from residents.models import Membership, PartyIdentityRequest, Role
from tests import factories as f


def _pending(neighborhood, **kw):
    return f.MembershipFactory(
        neighborhood=neighborhood, status=Membership.Status.PENDING, is_current=False, decided_at=None, **kw
    )


def test_committee_staff_approves_a_membership(
    neighborhood, committee_staff, console_for, django_capture_on_commit_callbacks
):
    pending = _pending(neighborhood)
    with django_capture_on_commit_callbacks(execute=True):
        response = console_for(committee_staff).post(
            f"/console/memberships/{pending.id}/decide/", {"decision": "approve"}, follow=True
        )
    pending.refresh_from_db()
    assert pending.status == "approved" and pending.decided_by == committee_staff
    assert "申请已通过" in response.content.decode()


def test_reject_without_reason_shows_the_rule_and_changes_nothing(neighborhood, committee_staff, console_for):
    pending = _pending(neighborhood)
    response = console_for(committee_staff).post(
        f"/console/memberships/{pending.id}/decide/", {"decision": "reject", "reason": ""}, follow=True
    )
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert "驳回时请填写原因" in response.content.decode()


def test_second_decision_on_a_decided_membership_says_it_was_handled(
    neighborhood, committee_staff, street_officer, console_for
):
    pending = _pending(neighborhood)
    console_for(street_officer).post(f"/console/memberships/{pending.id}/decide/", {"decision": "approve"})
    response = console_for(committee_staff).post(
        f"/console/memberships/{pending.id}/decide/", {"decision": "reject", "reason": "重复"}, follow=True
    )
    pending.refresh_from_db()
    assert pending.status == "approved"
    assert "该申请已被处理" in response.content.decode()


def test_officer_of_other_street_gets_404_deciding(neighborhood, other_officer, console_for):
    pending = _pending(neighborhood)
    response = console_for(other_officer).post(f"/console/memberships/{pending.id}/decide/", {"decision": "approve"})
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_decide_needs_post_and_csrf(neighborhood, committee_staff):
    from django.test import Client

    pending = _pending(neighborhood)
    client = Client(enforce_csrf_checks=True)
    client.force_login(committee_staff)
    assert client.get(f"/console/memberships/{pending.id}/decide/").status_code == 405
    assert client.post(f"/console/memberships/{pending.id}/decide/", {"decision": "approve"}).status_code == 403


def test_staff_verifies_party_identity_and_the_badge_role_appears(neighborhood, committee_staff, console_for):
    member = f.resident(neighborhood)
    request = PartyIdentityRequest.objects.create(user=member, neighborhood=neighborhood, party_branch="宝林一村党总支")
    console_for(committee_staff).post(f"/console/party-identity/{request.id}/decide/", {"decision": "approve"})
    assert Role.objects.filter(user=member, kind=Role.Kind.PARTY_MEMBER, revoked_at__isnull=True).exists()


def test_party_identity_of_other_street_is_404(neighborhood, other_officer, console_for):
    request = PartyIdentityRequest.objects.create(
        user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="党总支"
    )
    assert (
        console_for(other_officer)
        .post(f"/console/party-identity/{request.id}/decide/", {"decision": "approve"})
        .status_code
        == 404
    )
