"""One tap: `{item}` is enough; the rest comes from the membership and the default elder."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from notifications.models import Event, Notification
from services.models import ServiceRequest, ServiceRequestEvent
from tests import factories as f
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item

URL = "/api/v1/service-requests"


def test_son_taps_once_and_his_mother_gets_a_meal(world, api_for, django_capture_on_commit_callbacks):
    meal = item("meal-delivery")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(world.son).post(URL, {"item": meal.pk, "extra": MEAL})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["beneficiary_id"] == world.mother.pk and body["beneficiary_name"] == "王阿婆"
    assert body["neighborhood"]["id"] == world.neighborhood.pk
    assert body["address"] == "宝林一村5号楼301室"  # the requester sees it in full
    assert body["health_note"] == "高血压，需低盐饮食"
    assert body["filed_on_behalf"] is False
    req = ServiceRequest.objects.get(pk=body["id"])
    assert req.street_id == world.street.pk
    assert req.accept_due_at == req.created_at + meal.accept_within or abs(
        (req.accept_due_at - req.created_at - meal.accept_within).total_seconds()
    ) < 2
    assert ServiceRequestEvent.objects.filter(request=req, kind="created").count() == 1
    # The committee hears about it, and the dispatch boards of neighborhood and street update.
    assert Notification.objects.filter(recipient=world.staff, event_key=f"service_request:{req.pk}:created").exists()
    streams = set(Event.objects.filter(type="service_request.created").values_list("stream", flat=True))
    assert streams == {f"staff.neighborhood.{world.neighborhood.pk}", f"staff.street.{world.street.pk}"}


def test_address_and_health_notes_are_encrypted_at_rest(world, api_for):
    response = api_for(world.son).post(URL, {"item": item("meal-delivery").pk, "extra": MEAL})
    with connection.cursor() as cursor:
        cursor.execute("SELECT address, health_note FROM services_servicerequest WHERE id = %s", [response.json()["id"]])
        address, health = cursor.fetchone()
    assert address.startswith("enc1:") and "宝林" not in address
    assert health.startswith("enc1:") and "高血压" not in health


def test_double_tap_with_the_same_key_makes_one_request(world, api_for):
    api = api_for(world.son)
    body = {"item": item("meal-delivery").pk, "extra": MEAL}
    first = api.post(URL, body, headers={"Idempotency-Key": "tap-1"})
    second = api.post(URL, body, headers={"Idempotency-Key": "tap-1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert ServiceRequest.objects.count() == 1


def test_a_wrong_extra_answer_is_named_and_nothing_is_created(world, api_for):
    error = assert_error(api_for(world.son).post(URL, {"item": item("meal-delivery").pk, "extra": {**MEAL, "diet": "麻辣"}}),
                         400, "invalid_extra_field")
    assert error["detail"]["field"] == "diet"
    error = assert_error(api_for(world.son).post(URL, {"item": item("meal-delivery").pk, "extra": {**MEAL, "spicy": True}}),
                         400, "invalid_extra_field")
    assert error["detail"]["field"] == "spicy"
    assert ServiceRequest.objects.count() == 0


def test_malformed_bodies_get_400_and_change_nothing(world, api_for):
    api = api_for(world.son)
    assert_error(api.post(URL, {}), 400, "invalid_input")
    assert_error(api.post(URL, {"item": "送餐"}), 400, "invalid_input")
    assert_error(api.post(URL, {"item": 999999}), 400, "unknown_item")
    assert_error(api.raw_post(URL, b"{not json"), 400, "malformed_request")
    assert_error(api.post(URL, {"item": item("meal-delivery").pk, "extra": MEAL,
                                "scheduled_for": (timezone.now() - timedelta(days=1)).isoformat()}), 400, "scheduled_in_past")
    assert ServiceRequest.objects.count() == 0


def test_too_young_elder_is_not_eligible_for_an_80_plus_service(world, api_for):
    world.mother.birth_year = timezone.localdate().year - 70
    world.mother.save()
    error = assert_error(api_for(world.son).post(URL, {"item": item("company-birthday").pk}), 403, "not_eligible")
    assert error["detail"]["min_age"] == 80
    assert ServiceRequest.objects.count() == 0


def test_resident_without_a_registered_elder_can_call_for_help_but_not_ask_for_meals(world, api_for):
    api = api_for(world.neighbor)
    error = assert_error(api.post(URL, {"item": item("meal-delivery").pk, "extra": MEAL}), 403, "not_eligible")
    assert error["detail"]["reason"] == "age_unknown"
    response = api.post(URL, {"item": item("safety-emergency-call").pk})  # no age limit
    assert response.status_code == 201, response.content
    assert response.json()["beneficiary_id"] is None
    assert response.json()["address"].startswith(world.neighborhood.name)


def test_pending_member_cannot_ask(world, api_for):
    pending = f.UserFactory()
    f.MembershipFactory(user=pending, neighborhood=world.neighborhood, status="pending")
    assert_error(api_for(pending).post(URL, {"item": item("safety-emergency-call").pk}), 403, "membership_required")


def test_daughter_asks_for_a_registered_elder_of_hers_that_is_not_the_default(world, api_for):
    father = f.BeneficiaryFactory(owner=world.son, neighborhood=world.neighborhood, name="张老伯", birth_year=1935)
    response = api_for(world.son).post(URL, {"item": item("medical-escort").pk, "beneficiary": father.pk,
                                             "extra": {"hospital": "华山医院"}})
    assert response.status_code == 201, response.content
    assert response.json()["beneficiary_name"] == "张老伯"


def test_someone_elses_elder_is_404(world, api_for):
    assert_error(api_for(world.neighbor).post(URL, {"item": item("safety-emergency-call").pk,
                                                    "beneficiary": world.mother.pk}), 404)
    assert_error(api_for(world.other_officer).post(URL, {"item": item("safety-emergency-call").pk,
                                                         "beneficiary": world.mother.pk}), 404)
    assert ServiceRequest.objects.count() == 0


def test_committee_staff_files_for_an_elder_without_a_phone(world, api_for, django_capture_on_commit_callbacks):
    lonely = f.BeneficiaryFactory(owner=world.staff, neighborhood=world.neighborhood, name="李阿公", birth_year=1932,
                                  relation="本人", filed_by_staff=world.staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(world.staff).post(URL, {"item": item("bath-home").pk, "beneficiary": lonely.pk})
    assert response.status_code == 201, response.content
    # and for the son's mother, who is in the staff's region
    response = api_for(world.staff).post(URL, {"item": item("medical-prescription").pk, "beneficiary": world.mother.pk,
                                               "extra": {"hospital": "社区卫生服务中心", "medicines": "氨氯地平"}})
    assert response.status_code == 201
    assert response.json()["filed_on_behalf"] is True
    req = ServiceRequest.objects.get(pk=response.json()["id"])
    assert req.requester == world.staff and req.beneficiary == world.mother
