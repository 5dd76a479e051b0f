"""亮身份: an approved member asks to show the 党员 badge; committee staff verify it."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from residents.models import PartyIdentityRequest, Role
from tests import factories as f
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/party-identity"


def _ask(client, neighborhood, headers=None, **extra):
    return client.post(URL, {"neighborhood": neighborhood.pk, "party_branch": "宝林一村党总支", **extra}, headers=headers)


def test_member_asks_and_staff_approves_which_grants_the_badge_and_notifies(
    api_for, neighborhood, django_capture_on_commit_callbacks
):
    lisi = f.resident(neighborhood)
    response = _ask(api_for(lisi), neighborhood, joined_party_year=1998)
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    staff_client = api_for(f.staff(neighborhood))
    queue = staff_client.get(URL, {"scope": "staff", "status": "pending"}).json()["results"]
    assert [r["id"] for r in queue] == [request_id]
    with django_capture_on_commit_callbacks(execute=True):
        decided = staff_client.post(f"{URL}/{request_id}/decision", {"decision": "approve"})
    assert decided.json()["status"] == "approved"
    assert Role.objects.filter(user=lisi, region=neighborhood, kind="party_member", revoked_at__isnull=True).exists()
    assert Notification.objects.get(recipient=lisi).kind == "party_identity_verified"
    roles = api_for(lisi).get("/api/v1/me").json()["roles"]
    assert [r["kind"] for r in roles] == ["party_member"]


def test_reject_needs_a_reason_and_grants_nothing(api_for, neighborhood):
    request = PartyIdentityRequest.objects.create(
        user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="某支部"
    )
    client = api_for(f.staff(neighborhood))
    assert_error(client.post(f"{URL}/{request.pk}/decision", {"decision": "reject"}), 400, "reason_required")
    assert client.post(f"{URL}/{request.pk}/decision", {"decision": "reject", "reason": "组织关系不在本居委"}).status_code == 200
    assert not Role.objects.filter(kind="party_member").exists()


def test_second_decision_is_409_with_current_status(api_for, neighborhood):
    request = PartyIdentityRequest.objects.create(
        user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="某支部"
    )
    first, second = api_for(f.staff(neighborhood)), api_for(f.staff(neighborhood))
    assert first.post(f"{URL}/{request.pk}/decision", {"decision": "approve"}).status_code == 200
    error = assert_error(second.post(f"{URL}/{request.pk}/decision", {"decision": "approve"}), 409)
    assert error["detail"] == {"current": "approved"}
    assert Role.objects.filter(kind="party_member").count() == 1


def test_pending_member_cannot_ask(api_for, neighborhood):
    pending = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False).user
    assert_error(_ask(api_for(pending), neighborhood), 403, "membership_required")
    assert not PartyIdentityRequest.objects.exists()


def test_resident_of_another_neighborhood_cannot_ask_there(api_for, neighborhood, other_neighborhood):
    assert_error(_ask(api_for(f.resident(other_neighborhood)), neighborhood), 403, "membership_required")


def test_asking_twice_returns_the_pending_request_and_a_verified_member_gets_409(api_for, neighborhood):
    lisi = f.resident(neighborhood)
    client = api_for(lisi)
    first, again = _ask(client, neighborhood), _ask(client, neighborhood)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert_error(_ask(client, neighborhood, joined_party_year=2001), 409, "party_identity_pending")
    f.RoleFactory(user=lisi, region=neighborhood, kind=Role.Kind.PARTY_MEMBER)
    PartyIdentityRequest.objects.update(status="approved")
    assert_error(_ask(client, neighborhood), 409, "party_identity_exists")


def test_double_submit_with_idempotency_key_makes_one_row(api_for, neighborhood):
    client = api_for(f.resident(neighborhood))
    headers = {"Idempotency-Key": "badge-1"}
    assert _ask(client, neighborhood, headers=headers).status_code == 201
    assert _ask(client, neighborhood, headers=headers)["Idempotent-Replayed"] == "true"
    assert PartyIdentityRequest.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [{"party_branch": "支部"}, {"neighborhood": 1, "party_branch": "长" * 65}, {"neighborhood": 1, "party_branch": "支部", "joined_party_year": 1800}],
    ids=["no-neighborhood", "long-branch", "silly-year"],
)
def test_bad_request_is_400(api_for, neighborhood, payload):
    assert_error(api_for(f.resident(neighborhood)).post(URL, payload), 400, "invalid_input")


def test_unknown_neighborhood_is_404(api_for, neighborhood):
    response = api_for(f.resident(neighborhood)).post(URL, {"neighborhood": 999999, "party_branch": "支部"})
    assert_error(response, 404, "region_not_found")


@pytest.mark.parametrize("who", ["other_staff", "officer_of_other_street", "resident"])
def test_outsiders_cannot_decide(api_for, neighborhood, other_neighborhood, other_street, who):
    request = PartyIdentityRequest.objects.create(
        user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="某支部"
    )
    outsider = {
        "other_staff": lambda: f.staff(other_neighborhood),
        "officer_of_other_street": lambda: f.officer(other_street),
        "resident": lambda: f.resident(neighborhood),
    }[who]()
    assert_error(api_for(outsider).post(f"{URL}/{request.pk}/decision", {"decision": "approve"}), 404)
    request.refresh_from_db()
    assert request.status == "pending"


def test_street_officer_of_the_street_may_decide(api_for, neighborhood, street):
    request = PartyIdentityRequest.objects.create(
        user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="某支部"
    )
    assert api_for(f.officer(street)).post(f"{URL}/{request.pk}/decision", {"decision": "approve"}).status_code == 200


def test_my_requests_list_only_mine(api_for, neighborhood):
    mine = f.resident(neighborhood)
    PartyIdentityRequest.objects.create(user=mine, neighborhood=neighborhood, party_branch="A")
    PartyIdentityRequest.objects.create(user=f.resident(neighborhood), neighborhood=neighborhood, party_branch="B")
    results = api_for(mine).get(URL).json()["results"]
    assert [r["party_branch"] for r in results] == ["A"]
    assert_error(api_for(mine).get(URL, {"scope": "staff"}), 403, "staff_only")
