"""A resident's own profile, phone binding and personal-information consents."""

from __future__ import annotations

import pytest
from django.db import connection

from residents.models import PersonalInfoConsent, Role
from tests import factories as f
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_me_shows_homes_roles_current_neighborhood_and_masked_phone(api_for, neighborhood, street):
    user = f.resident(neighborhood, phone="13812345678")
    f.RoleFactory(user=user, region=neighborhood, kind=Role.Kind.MODERATOR, title="版主")
    f.RoleFactory(user=user, region=street, kind=Role.Kind.STREET_OFFICER)
    body = api_for(user).get("/api/v1/me").json()
    assert body["phone_masked"] == "138****5678"
    assert "13812345678" not in str(body)
    assert body["current_neighborhood"]["name"] == "宝林一村居委会"
    assert [m["status"] for m in body["memberships"]] == ["approved"]
    assert {(r["kind"], r["region"]["name"]) for r in body["roles"]} == {
        ("moderator", "宝林一村居委会"),
        ("street_officer", "友谊路街道"),
    }
    assert body["is_staff_member"] is True


def test_me_without_a_token_is_401(anon, db):
    assert_error(anon.get("/api/v1/me"), 401, "not_authenticated")


def test_me_runs_a_fixed_number_of_queries(api_for, neighborhood, django_assert_max_num_queries):
    user = f.resident(neighborhood)
    for kind in (Role.Kind.MODERATOR, Role.Kind.BUILDING_LEADER, Role.Kind.PARTY_MEMBER):
        f.RoleFactory(user=user, region=neighborhood, kind=kind)
    client = api_for(user)
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/me").status_code == 200


def test_patch_me_changes_nickname_and_avatar(api_for, db):
    user = f.UserFactory()
    response = api_for(user).patch("/api/v1/me", {"nickname": "老张", "avatar_url": "https://example.com/a.png"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.nickname, user.avatar_url) == ("老张", "https://example.com/a.png")


@pytest.mark.parametrize(
    "payload",
    [{"nickname": "长" * 33}, {"phone": "13800000000"}, {"is_staff": True}, {"avatar_url": "not a url"}, {"nickname": ""}],
    ids=["too-long", "phone-not-editable", "unknown", "bad-url", "blank"],
)
def test_patch_me_rejects_unknown_and_bad_fields(api_for, db, payload):
    user = f.UserFactory(nickname="原名")
    assert_error(api_for(user).patch("/api/v1/me", payload), 400, "invalid_input")
    user.refresh_from_db()
    assert user.nickname == "原名" and not user.is_staff and user.phone == ""


def test_patch_me_malformed_json_is_400(api_for, db):
    client = api_for(f.UserFactory())
    response = client.client.generic("PATCH", "/api/v1/me", b"{nope", content_type="application/json")
    assert_error(response, 400, "malformed_request")


# --- consents and phone ---------------------------------------------------------------


def test_phone_binding_requires_phone_consent_and_keeps_the_code(api_for, wechat_standin):
    user = f.UserFactory()
    client = api_for(user)
    error = assert_error(client.post("/api/v1/me/phone", {"code": "phone-13912345678-1"}), 403, "consent_required")
    assert error["detail"]["purpose"] == "phone"
    # The code was not spent: after consenting, the same code still works.
    assert client.post("/api/v1/me/consents", {"purpose": "phone", "text_version": "v1"}).status_code == 201
    response = client.post("/api/v1/me/phone", {"code": "phone-13912345678-1"})
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "13912345678"
    assert response.json()["phone_masked"] == "139****5678"


def test_phone_is_encrypted_at_rest_and_masked_in_me(api_for, wechat_standin):
    user = f.UserFactory()
    client = api_for(user)
    client.post("/api/v1/me/consents", {"purpose": "phone", "text_version": "v1"})
    client.post("/api/v1/me/phone", {"code": "phone-13912345678-2"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM residents_user WHERE id = %s", [user.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("enc1:") and "13912345678" not in stored
    assert client.get("/api/v1/me").json()["phone_masked"] == "139****5678"


def test_reused_phone_code_is_401_and_keeps_the_old_number(api_for, wechat_standin):
    user = f.UserFactory()
    client = api_for(user)
    client.post("/api/v1/me/consents", {"purpose": "phone", "text_version": "v1"})
    assert client.post("/api/v1/me/phone", {"code": "phone-13912345678-3"}).status_code == 200
    assert_error(client.post("/api/v1/me/phone", {"code": "phone-13912345678-3"}), 401, "wechat_code_invalid")
    user.refresh_from_db()
    assert user.phone == "13912345678"


def test_wechat_busy_on_phone_is_503_and_stores_nothing(api_for, wechat_standin):
    user = f.UserFactory()
    client = api_for(user)
    client.post("/api/v1/me/consents", {"purpose": "phone", "text_version": "v1"})
    wechat_standin.control("POST", "faults", {"path": "wxa/business/getuserphonenumber", "errcode": -1, "times": 1})
    response = client.post("/api/v1/me/phone", {"code": "phone-13912345678-4"})
    assert_error(response, 503, "wechat_unavailable")
    assert response["Retry-After"]
    user.refresh_from_db()
    assert user.phone == ""


def test_withdrawing_phone_consent_clears_the_phone(api_for, db):
    user = f.UserFactory(phone="13912345678")
    PersonalInfoConsent.objects.create(user=user, purpose="phone", text_version="v1")
    client = api_for(user)
    assert client.delete("/api/v1/me/consents/phone").status_code == 204
    user.refresh_from_db()
    assert user.phone == "" and user.phone_bound_at is None
    consents = client.get("/api/v1/me/consents").json()
    assert consents[0]["purpose"] == "phone" and consents[0]["withdrawn_at"]
    assert_error(client.delete("/api/v1/me/consents/phone"), 404, "consent_not_found")


def test_withdrawing_address_consent_erases_addresses_the_user_collected(api_for, neighborhood):
    user = f.resident(neighborhood)
    PersonalInfoConsent.objects.create(user=user, purpose="address", text_version="v1")
    beneficiary = f.BeneficiaryFactory(owner=user, neighborhood=neighborhood)
    api_for(user).delete("/api/v1/me/consents/address")
    beneficiary.refresh_from_db()
    assert beneficiary.address == "" and beneficiary.health_notes  # health consent untouched


def test_recording_the_same_consent_twice_keeps_one(api_for, db):
    user = f.UserFactory()
    client = api_for(user)
    assert client.post("/api/v1/me/consents", {"purpose": "health", "text_version": "v1"}).status_code == 201
    assert client.post("/api/v1/me/consents", {"purpose": "health", "text_version": "v1"}).status_code == 200
    assert PersonalInfoConsent.objects.filter(user=user).count() == 1
    # A new notice version replaces the old consent.
    assert client.post("/api/v1/me/consents", {"purpose": "health", "text_version": "v2"}).status_code == 201
    assert PersonalInfoConsent.objects.filter(user=user, withdrawn_at__isnull=True).get().text_version == "v2"


def test_consent_double_submit_with_idempotency_key_makes_one_row(api_for, db):
    user = f.UserFactory()
    client = api_for(user)
    headers = {"Idempotency-Key": "tap-1"}
    first = client.post("/api/v1/me/consents", {"purpose": "address", "text_version": "v1"}, headers=headers)
    second = client.post("/api/v1/me/consents", {"purpose": "address", "text_version": "v1"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert PersonalInfoConsent.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    "payload",
    [{"purpose": "dna", "text_version": "v1"}, {"purpose": "phone"}, {"purpose": "phone", "text_version": "v" * 17}],
    ids=["unknown-purpose", "missing-version", "version-too-long"],
)
def test_bad_consent_is_400(api_for, db, payload):
    user = f.UserFactory()
    assert_error(api_for(user).post("/api/v1/me/consents", payload), 400, "invalid_input")
    assert not PersonalInfoConsent.objects.filter(user=user).exists()


def test_unknown_consent_purpose_on_delete_is_404(api_for, db):
    assert_error(api_for(f.UserFactory()).delete("/api/v1/me/consents/dna"), 404)
