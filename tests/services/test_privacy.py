"""Address and health notes: full only for the family, region staff, and the provider while open."""

from __future__ import annotations

from residents.models import SensitiveAccessLog
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item


def _assigned(world):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    do_transition_service_request(req.pk, actor=world.staff, to="accepted")
    do_transition_service_request(req.pk, actor=world.staff, to="assigned", assignee_org_id=world.org.pk)
    return req


def test_resident_of_the_same_building_gets_404(world, api_for):
    req = _assigned(world)
    assert_error(api_for(world.neighbor).get(f"/api/v1/service-requests/{req.pk}"), 404, "service_request_not_found")
    assert api_for(world.neighbor).get("/api/v1/service-requests").json()["results"] == []


def test_provider_of_another_organization_gets_404(world, api_for):
    req = _assigned(world)
    assert_error(api_for(world.other_worker).get(f"/api/v1/service-requests/{req.pk}"), 404)
    assert_error(api_for(world.other_worker).post(f"/api/v1/service-requests/{req.pk}/transitions", {"to": "in_service"}), 404)


def test_staff_see_it_in_full_and_each_view_is_logged(world, api_for):
    req = _assigned(world)
    body = api_for(world.staff).get(f"/api/v1/service-requests/{req.pk}").json()
    assert body["address"] == "宝林一村5号楼301室" and body["sensitive_masked"] is False
    logs = SensitiveAccessLog.objects.filter(viewer=world.staff, subject_label=f"service_request:{req.pk}")
    assert set(logs.values_list("field", flat=True)) == {"address", "health_note"}
    assert logs.first().subject_user == world.son
    api_for(world.officer).get(f"/api/v1/service-requests/{req.pk}")
    assert SensitiveAccessLog.objects.filter(viewer=world.officer).count() == 2


def test_the_family_sees_it_in_full_without_a_log(world, api_for):
    req = _assigned(world)
    assert api_for(world.son).get(f"/api/v1/service-requests/{req.pk}").json()["health_note"] == "高血压，需低盐饮食"
    assert not SensitiveAccessLog.objects.exists()


def test_provider_sees_the_address_while_open_and_masked_after(world, api_for):
    req = _assigned(world)
    worker = api_for(world.worker)
    assert worker.get(f"/api/v1/service-requests/{req.pk}").json()["address"] == "宝林一村5号楼301室"
    assert SensitiveAccessLog.objects.filter(viewer=world.worker).exists()
    do_transition_service_request(req.pk, actor=world.worker, to="in_service")
    do_transition_service_request(req.pk, actor=world.worker, to="completed")
    body = worker.get(f"/api/v1/service-requests/{req.pk}").json()
    assert body["sensitive_masked"] is True
    assert body["address"] == "宝林一村5号****" and body["health_note"] == "****"


def test_lists_are_masked_even_for_staff(world, api_for):
    _assigned(world)
    row = api_for(world.staff).get("/api/v1/service-requests").json()["results"][0]
    assert row["address"] == "宝林一村5号****" and row["health_note"] == "****"
    assert not SensitiveAccessLog.objects.exists()
