"""accept → assign → start → complete → rate, with rejections, cancels, reopen and the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifications.models import Event, Notification
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRequest
from tests import factories as f
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item, volunteer


def _request(world, code="meal-delivery", extra=MEAL):
    return do_create_service_request(check_create_service_request(actor=world.son, item=item(code), extra=extra))


def _move(api, req, to, headers=None, **body):
    return api.post(f"/api/v1/service-requests/{req.pk}/transitions", {"to": to, **body}, headers=headers)


def test_the_whole_loop_with_a_timeline_and_a_notification_at_each_step(world, api_for, django_capture_on_commit_callbacks):
    req = _request(world)
    staff, worker, son = api_for(world.staff), api_for(world.worker), api_for(world.son)
    with django_capture_on_commit_callbacks(execute=True):
        assert _move(staff, req, "accepted", from_status="submitted").status_code == 200
        response = _move(staff, req, "assigned")  # the item's default organization
        assert response.json()["assigned_org"]["name"] == "友谊路助老服务社"
        assert _move(worker, req, "in_service").status_code == 200
        response = _move(worker, req, "completed", note="已送达，老人已用餐")
        assert response.json()["completion_note"] == "已送达，老人已用餐"
        response = son.post(f"/api/v1/service-requests/{req.pk}/rating", {"score": 5, "comment": "饭菜可口"})
    assert response.status_code == 201, response.content
    req.refresh_from_db()
    assert req.status == "rated"
    events = son.get(f"/api/v1/service-requests/{req.pk}/events").json()["results"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        ("", "submitted"), ("submitted", "accepted"), ("accepted", "assigned"), ("assigned", "in_service"),
        ("in_service", "completed"), ("completed", "rated"),
    ]
    assert events[1]["actor"]["name"] == "陈主任"
    # Each of the five changes reached the son (also the elder's registered family) exactly once.
    keys = set(Notification.objects.filter(recipient=world.son, kind="service_request_status").values_list("event_key", flat=True))
    assert keys == {f"service_request:{req.pk}:{e['id']}" for e in events[1:]}
    assert Event.objects.filter(stream=f"user.{world.son.pk}", type="service_request.status_changed").count() == 5
    assert Notification.objects.filter(recipient=world.worker, kind="service_request_assigned").count() == 1


def test_family_of_an_elder_filed_by_staff_hears_every_change(world, api_for):
    req = do_create_service_request(check_create_service_request(actor=world.staff, item=item("medical-prescription"), beneficiary_id=world.mother.pk,
                                    extra={"hospital": "社区卫生服务中心", "medicines": "二甲双胍"}))
    _move(api_for(world.staff), req, "accepted")
    assert Notification.objects.filter(recipient=world.son, kind="service_request_status").count() == 1


def test_rejection_needs_a_reason(world, api_for):
    req = _request(world)
    assert_error(_move(api_for(world.staff), req, "rejected"), 400, "reason_required")
    req.refresh_from_db()
    assert req.status == "submitted"
    response = _move(api_for(world.staff), req, "rejected", reason="该地址不在送餐范围")
    assert response.json()["reject_reason"] == "该地址不在送餐范围"


def test_each_move_belongs_to_its_role(world, api_for):
    req = _request(world)
    assert_error(_move(api_for(world.son), req, "accepted"), 403, "transition_not_allowed")
    assert_error(_move(api_for(world.worker), req, "accepted"), 404)  # not assigned to him yet: cannot see it
    _move(api_for(world.staff), req, "accepted")
    _move(api_for(world.staff), req, "assigned", assignee_org=world.org.pk)
    assert_error(_move(api_for(world.staff), req, "in_service"), 403, "transition_not_allowed")
    assert_error(_move(api_for(world.staff), req, "cancelled"), 403, "transition_not_allowed")
    assert_error(_move(api_for(world.son), req, "in_service"), 403, "transition_not_allowed")
    req.refresh_from_db()
    assert req.status == "assigned"


def test_staff_reassigns_to_a_volunteer_of_the_street(world, api_for):
    req = _request(world)
    helper = volunteer(world.street, nickname="志愿者小王")
    staff = api_for(world.staff)
    _move(staff, req, "accepted")
    _move(staff, req, "assigned", assignee_org=world.org.pk)
    response = _move(staff, req, "assigned", assignee_user=helper.pk)
    assert response.status_code == 200 and response.json()["assigned_user"]["id"] == helper.pk
    assert _move(api_for(helper), req, "in_service").status_code == 200


@pytest.mark.parametrize("body", [
    {"assignee_org": "x"}, {"assignee_user": 10**8}, {"assignee_org": 10**8},
])
def test_bad_assignee_is_400_and_changes_nothing(world, api_for, body):
    req = _request(world)
    staff = api_for(world.staff)
    _move(staff, req, "accepted")
    response = _move(staff, req, "assigned", **body)
    assert response.status_code == 400
    req.refresh_from_db()
    assert req.status == "accepted" and req.assigned_org_id is None


def test_organization_of_another_street_cannot_be_assigned(world, api_for):
    req = _request(world)
    staff = api_for(world.staff)
    _move(staff, req, "accepted")
    assert_error(_move(staff, req, "assigned", assignee_org=world.other_org.pk), 400, "invalid_assignee")
    f_user = f.UserFactory()  # not a provider on this street
    assert_error(_move(staff, req, "assigned", assignee_user=f_user.pk), 400, "invalid_assignee")


def test_malformed_transition_is_400(world, api_for):
    req = _request(world)
    staff = api_for(world.staff)
    assert_error(_move(staff, req, "flying"), 400, "invalid_input")
    assert_error(staff.post(f"/api/v1/service-requests/{req.pk}/transitions", {}), 400, "invalid_input")
    assert_error(_move(staff, req, "rated"), 400, "use_rating_endpoint")
    req.refresh_from_db()
    assert req.status == "submitted"


def test_outsiders_get_404_on_every_request_endpoint(world, api_for):
    req = _request(world)
    for outsider in (world.outsider, world.other_officer, world.neighbor, world.other_worker):
        api = api_for(outsider)
        assert_error(api.get(f"/api/v1/service-requests/{req.pk}"), 404)
        assert_error(api.get(f"/api/v1/service-requests/{req.pk}/events"), 404)
        assert_error(_move(api, req, "cancelled"), 404)
        assert_error(api.post(f"/api/v1/service-requests/{req.pk}/rating", {"score": 5}), 404)
    req.refresh_from_db()
    assert req.status == "submitted"


def test_stale_from_status_is_409_with_the_current_state(world, api_for):
    req = _request(world)
    _move(api_for(world.son), req, "cancelled")
    error = assert_error(_move(api_for(world.staff), req, "accepted", from_status="submitted"), 409, "request_state_changed")
    assert error["detail"]["current"] == "cancelled"
    # without from_status: the move itself no longer starts from here
    error = assert_error(_move(api_for(world.staff), req, "accepted"), 409, "request_state_changed")
    assert error["detail"]["current"] == "cancelled"


def test_double_tapped_accept_with_one_key_is_one_event(world, api_for):
    req = _request(world)
    staff = api_for(world.staff)
    first = _move(staff, req, "accepted", headers={"Idempotency-Key": "acc-1"})
    second = _move(staff, req, "accepted", headers={"Idempotency-Key": "acc-1"})
    assert first.status_code == second.status_code == 200
    assert req.events.filter(to_status="accepted").count() == 1


def test_the_action_called_twice_lets_only_the_first_win(world):
    req = _request(world)
    do_transition_service_request(req.pk, actor=world.staff, to="accepted", expected_status="submitted")
    from core.errors import Conflict

    with pytest.raises(Conflict) as caught:
        do_transition_service_request(req.pk, actor=world.son, to="cancelled", expected_status="submitted")
    assert caught.value.detail == {"current": "accepted"}


def _complete(world, api_for):
    req = _request(world)
    staff, worker = api_for(world.staff), api_for(world.worker)
    _move(staff, req, "accepted")
    _move(staff, req, "assigned")
    _move(worker, req, "in_service")
    assert _move(worker, req, "completed").status_code == 200
    req.refresh_from_db()
    return req


def test_requester_reopens_within_seven_days_and_staff_take_it_again(world, api_for):
    req = _complete(world, api_for)
    response = _move(api_for(world.son), req, "reopened", note="饭没有送到")
    assert response.status_code == 200 and response.json()["status"] == "reopened"
    assert _move(api_for(world.staff), req, "accepted").json()["status"] == "accepted"


def test_reopen_after_seven_days_is_refused(world, api_for):
    req = _complete(world, api_for)
    req.refresh_from_db()
    ServiceRequest.objects.filter(pk=req.pk).update(completed_at=req.completed_at - timedelta(days=8))
    assert_error(_move(api_for(world.son), req, "reopened"), 403, "reopen_window_passed")


def test_cancel_is_the_requesters_only_while_open(world, api_for):
    req = _complete(world, api_for)
    error = assert_error(_move(api_for(world.son), req, "cancelled"), 409, "request_state_changed")
    assert error["detail"]["current"] == "completed"
