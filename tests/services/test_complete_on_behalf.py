"""Staff complete a request on the provider's behalf (the provider confirmed by phone)."""

from __future__ import annotations

from notifications.models import Event
from services.actions.requests import check_create_service_request, do_create_service_request
from services.models import ServiceRequest, ServiceRequestEvent
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item


def _assigned(world, api_for):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    staff = api_for(world.staff)
    assert staff.post(f"/api/v1/service-requests/{req.pk}/transitions", {"to": "accepted"}).status_code == 200
    assert staff.post(f"/api/v1/service-requests/{req.pk}/transitions", {"to": "assigned"}).status_code == 200
    return req


def test_staff_completes_on_behalf_with_a_note_and_the_timeline_says_so(world, api_for):
    req = _assigned(world, api_for)
    response = api_for(world.staff).post(
        f"/api/v1/service-requests/{req.pk}/transitions", {"to": "completed", "note": "吴师傅电话确认已送达"}
    )
    assert response.status_code == 200, response.content
    req.refresh_from_db()
    assert req.status == ServiceRequest.Status.COMPLETED
    event = ServiceRequestEvent.objects.filter(request=req).latest("id")
    assert (event.actor_id, event.to_status, event.note, event.data.get("on_behalf")) == (
        world.staff.pk, "completed", "吴师傅电话确认已送达", True,
    )


def test_completing_on_behalf_without_saying_how_it_was_confirmed_is_refused(world, api_for):
    req = _assigned(world, api_for)
    response = api_for(world.staff).post(f"/api/v1/service-requests/{req.pk}/transitions", {"to": "completed"})
    assert_error(response, 400, "note_required")
    req.refresh_from_db()
    assert req.status == ServiceRequest.Status.ASSIGNED


def test_staff_cannot_complete_what_nobody_was_assigned_and_outsiders_get_404(world, api_for):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    response = api_for(world.staff).post(
        f"/api/v1/service-requests/{req.pk}/transitions", {"to": "completed", "note": "电话确认"}
    )
    assert_error(response, 409, "request_state_changed")
    response = api_for(world.other_officer).post(
        f"/api/v1/service-requests/{req.pk}/transitions", {"to": "completed", "note": "电话确认"}
    )
    assert_error(response, 404)
    # The requester is no provider and no staff: the move is not theirs.
    req2 = _assigned(world, api_for)
    response = api_for(world.son).post(
        f"/api/v1/service-requests/{req2.pk}/transitions", {"to": "completed", "note": "我说完成了"}
    )
    assert_error(response, 403, "transition_not_allowed")


def test_a_status_change_reaches_the_street_officers_board(world, api_for, django_capture_on_commit_callbacks):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    with django_capture_on_commit_callbacks(execute=True):
        api_for(world.staff).post(f"/api/v1/service-requests/{req.pk}/transitions", {"to": "accepted"})
    assert Event.objects.filter(stream=f"staff.street.{world.street.pk}", type="service_request.updated").count() == 1
    assert Event.objects.filter(stream=f"staff.neighborhood.{world.neighborhood.pk}", type="service_request.updated").count() == 1
