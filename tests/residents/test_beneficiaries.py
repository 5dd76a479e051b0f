"""Elders a resident acts for: consent-gated sensitive fields, masking, staff views logged."""

from __future__ import annotations

import pytest
from django.db import connection

from residents.models import Beneficiary, PersonalInfoConsent, SensitiveAccessLog
from tests import factories as f
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/beneficiaries"
ELDER = {"name": "王阿婆", "relation": "母亲", "birth_year": 1938, "mobility": "assisted"}


def _consent(user, *purposes):
    for purpose in purposes:
        PersonalInfoConsent.objects.create(user=user, purpose=purpose, text_version="v1")


def test_resident_registers_an_elder_with_address_and_health_after_consenting(api_for, neighborhood):
    zhangsan = f.resident(neighborhood)
    _consent(zhangsan, "address", "health")
    response = api_for(zhangsan).post(
        URL, {**ELDER, "phone": "13700001111", "address": "宝林一村5号楼301室", "health_notes": "高血压"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["address"] == "宝林一村5号楼301室" and body["is_default"] is True
    assert body["neighborhood"]["id"] == neighborhood.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT address, health_notes, phone FROM residents_beneficiary")
        assert all(value.startswith("enc1:") for value in cursor.fetchone())


@pytest.mark.parametrize("field,purpose", [("address", "address"), ("health_notes", "health")])
def test_sensitive_field_without_consent_is_403_naming_the_purpose(api_for, neighborhood, field, purpose):
    zhangsan = f.resident(neighborhood)
    error = assert_error(api_for(zhangsan).post(URL, {**ELDER, field: "某些内容"}), 403, "consent_required")
    assert error["detail"]["purpose"] == purpose
    assert not Beneficiary.objects.exists()


def test_elder_without_sensitive_fields_needs_no_consent(api_for, neighborhood):
    assert api_for(f.resident(neighborhood)).post(URL, ELDER).status_code == 201


def test_patch_adding_an_address_needs_consent(api_for, neighborhood):
    zhangsan = f.resident(neighborhood)
    elder = f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood, address="", health_notes="")
    client = api_for(zhangsan)
    assert_error(client.patch(f"{URL}/{elder.pk}", {"address": "新地址"}), 403, "consent_required")
    _consent(zhangsan, "address")
    assert client.patch(f"{URL}/{elder.pk}", {"address": "新地址"}).json()["address"] == "新地址"


def test_list_masks_phone_address_and_health_even_for_the_owner(api_for, neighborhood):
    zhangsan = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood, phone="13700001111", is_default=True)
    body = api_for(zhangsan).get(URL).json()
    item = body["results"][0]
    assert item["phone"] == "137****1111"
    assert item["address"] == "共和新路10****"
    assert item["health_notes"] == "已填写"
    assert "高血压" not in str(body) and "301室" not in str(body)


def test_owner_sees_full_detail_without_an_access_log(api_for, neighborhood):
    zhangsan = f.resident(neighborhood)
    elder = f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood)
    body = api_for(zhangsan).get(f"{URL}/{elder.pk}").json()
    assert body["health_notes"] == "高血压，需低盐饮食"
    assert not SensitiveAccessLog.objects.exists()


def test_staff_of_the_region_see_full_detail_and_each_view_is_logged(api_for, neighborhood):
    elder = f.BeneficiaryFactory(owner=f.resident(neighborhood), neighborhood=neighborhood, phone="13700001111")
    staff = f.staff(neighborhood)
    client = api_for(staff)
    assert client.get(f"{URL}/{elder.pk}").json()["address"] == "共和新路100弄5号301室"
    client.get(f"{URL}/{elder.pk}")
    logs = SensitiveAccessLog.objects.filter(viewer=staff, subject_label=f"beneficiary:{elder.pk}")
    assert logs.count() == 6  # two views x (phone, address, health_notes)
    assert set(logs.values_list("field", flat=True)) == {"phone", "address", "health_notes"}
    assert logs.first().subject_user_id == elder.owner_id


def test_staff_list_of_the_region_is_masked_and_not_logged(api_for, neighborhood, other_neighborhood, street):
    f.BeneficiaryFactory(owner=f.resident(neighborhood), neighborhood=neighborhood)
    f.BeneficiaryFactory(owner=f.resident(other_neighborhood), neighborhood=other_neighborhood)
    body = api_for(f.officer(street)).get(URL, {"scope": "staff"}).json()
    assert len(body["results"]) == 1 and body["results"][0]["address"].endswith("****")
    assert not SensitiveAccessLog.objects.exists()


def test_beneficiary_list_runs_fixed_queries(api_for, neighborhood, django_assert_max_num_queries):
    staff = f.staff(neighborhood)
    client = api_for(staff)
    client.get("/api/v1/me")
    counts = []
    for n in (5, 40):
        f.BeneficiaryFactory.create_batch(n, owner=f.resident(neighborhood), neighborhood=neighborhood)
        with django_assert_max_num_queries(8) as captured:
            client.get(URL, {"scope": "staff", "limit": 100})
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("who", ["other_resident", "neighbor", "other_staff", "officer_of_other_street", "pending_member"])
def test_outsiders_get_404(api_for, neighborhood, other_neighborhood, other_street, who):
    elder = f.BeneficiaryFactory(owner=f.resident(neighborhood), neighborhood=neighborhood)
    outsider = {
        "other_resident": lambda: f.resident(other_neighborhood),
        "neighbor": lambda: f.resident(neighborhood),
        "other_staff": lambda: f.staff(other_neighborhood),
        "officer_of_other_street": lambda: f.officer(other_street),
        "pending_member": lambda: f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False).user,
    }[who]()
    client = api_for(outsider)
    assert_error(client.get(f"{URL}/{elder.pk}"), 404)
    assert_error(client.patch(f"{URL}/{elder.pk}", {"name": "改名"}), 404)
    assert_error(client.delete(f"{URL}/{elder.pk}"), 404)
    assert client.get(URL).json()["results"] == []
    elder.refresh_from_db()
    assert elder.name != "改名" and elder.deleted_at is None
    assert not SensitiveAccessLog.objects.exists()


def test_staff_cannot_edit_what_a_family_registered(api_for, neighborhood):
    elder = f.BeneficiaryFactory(owner=f.resident(neighborhood), neighborhood=neighborhood)
    assert_error(api_for(f.staff(neighborhood)).patch(f"{URL}/{elder.pk}", {"name": "改名"}), 403, "owner_only")


def test_pending_member_cannot_register_an_elder(api_for, neighborhood):
    pending = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False).user
    assert_error(api_for(pending).post(URL, ELDER), 403, "membership_required")
    assert_error(api_for(f.resident(neighborhood)).post(URL, {**ELDER, "neighborhood": 999999}), 403, "membership_required")


def test_only_one_default_per_owner(api_for, neighborhood):
    zhangsan = f.resident(neighborhood)
    client = api_for(zhangsan)
    first = client.post(URL, ELDER).json()
    second = client.post(URL, {**ELDER, "name": "张老伯", "relation": "父亲", "is_default": True}).json()
    assert second["is_default"] is True
    assert client.get(f"{URL}/{first['id']}").json()["is_default"] is False
    client.patch(f"{URL}/{first['id']}", {"is_default": True})
    assert Beneficiary.objects.get(is_default=True).pk == first["id"]


def test_double_submit_with_idempotency_key_makes_one_row(api_for, neighborhood):
    client = api_for(f.resident(neighborhood))
    headers = {"Idempotency-Key": "elder-1"}
    assert client.post(URL, ELDER, headers=headers).status_code == 201
    assert client.post(URL, ELDER, headers=headers)["Idempotent-Replayed"] == "true"
    assert Beneficiary.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        {**ELDER, "name": "长" * 33},
        {**ELDER, "birth_year": 3000},
        {**ELDER, "phone": "call me"},
        {**ELDER, "mobility": "flying"},
        {**ELDER, "health_notes": "长" * 501},
        {**ELDER, "secret": 1},
        {"name": "王阿婆"},
    ],
    ids=["long-name", "future-birth", "bad-phone", "bad-mobility", "long-health", "unknown", "missing"],
)
def test_bad_beneficiary_is_400(api_for, neighborhood, payload):
    assert_error(api_for(f.resident(neighborhood)).post(URL, payload), 400, "invalid_input")
    assert not Beneficiary.objects.exists()


def test_malformed_json_is_400(api_for, neighborhood):
    assert_error(api_for(f.resident(neighborhood)).raw_post(URL, b"{'name':"), 400, "malformed_request")


def test_delete_erases_the_sensitive_fields(api_for, neighborhood):
    zhangsan = f.resident(neighborhood)
    elder = f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood, phone="13700001111")
    assert api_for(zhangsan).delete(f"{URL}/{elder.pk}").status_code == 204
    elder.refresh_from_db()
    assert elder.deleted_at and (elder.phone, elder.address, elder.health_notes) == ("", "", "")
    assert_error(api_for(zhangsan).get(f"{URL}/{elder.pk}"), 404)


# --- staff filing for an elder without a phone ----------------------------------------


def test_staff_file_an_elder_on_paper_consent_and_own_the_record(api_for, neighborhood):
    staff = f.staff(neighborhood)
    response = api_for(staff).post(
        URL,
        {**ELDER, "filed_by_staff": True, "neighborhood": neighborhood.pk, "address": "宝林一村8号楼", "offline_consent_version": "paper-v1"},
    )
    assert response.status_code == 201, response.content
    elder = Beneficiary.objects.get()
    assert elder.owner == staff and elder.filed_by_staff == staff and elder.offline_consent_version == "paper-v1"
    # Another staff member of the neighborhood may correct it (filed by staff, not by a family).
    assert api_for(f.staff(neighborhood)).patch(f"{URL}/{elder.pk}", {"mobility": "wheelchair"}).status_code == 200


def test_staff_file_for_a_resident_family_member(api_for, neighborhood):
    staff, son = f.staff(neighborhood), f.resident(neighborhood)
    response = api_for(staff).post(URL, {**ELDER, "filed_by_staff": True, "neighborhood": neighborhood.pk, "owner": son.pk})
    assert response.status_code == 201
    assert Beneficiary.objects.get().owner == son
    assert api_for(son).get(URL).json()["results"][0]["filed_by_staff"] is True


def test_staff_filing_sensitive_fields_without_paper_consent_is_403(api_for, neighborhood):
    response = api_for(f.staff(neighborhood)).post(
        URL, {**ELDER, "filed_by_staff": True, "neighborhood": neighborhood.pk, "health_notes": "糖尿病"}
    )
    assert_error(response, 403, "consent_required")


def test_resident_cannot_use_the_staff_variant(api_for, neighborhood):
    response = api_for(f.resident(neighborhood)).post(URL, {**ELDER, "filed_by_staff": True, "neighborhood": neighborhood.pk})
    assert_error(response, 403, "staff_only")


def test_staff_cannot_file_in_another_neighborhood(api_for, neighborhood, other_neighborhood):
    response = api_for(f.staff(neighborhood)).post(
        URL, {**ELDER, "filed_by_staff": True, "neighborhood": other_neighborhood.pk}
    )
    assert_error(response, 404)
    assert not Beneficiary.objects.exists()
