"""Service requests on the case engine: each request's case follows it (status, deadlines,
timeline, rating, reopen), and the engine's one sweep escalates it with the service notice."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from cases.models import Case, CaseEvent, ResponsibleUnit
from notifications.models import Notification
from services.actions.case_mirror import resync_case
from services.actions.ratings import do_rate_service_request
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRequest
from tests.services.conftest import MEAL, item

PLANS = "/api/v1/service-plans"


def _request(world):
    return do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))


def _case(req) -> Case:
    return Case.objects.get(service_request=req)


def _timeline(case) -> list[tuple[str, str, str]]:
    return list(case.events.order_by("id").values_list("kind", "from_status", "to_status"))


def test_a_request_opens_its_case_on_the_neighborhoods_committee_unit(world):
    req = _request(world)
    case = _case(req)
    assert (case.kind, case.status, case.reporter_id) == ("service_request", "submitted", world.son.pk)
    assert case.unit.kind == ResponsibleUnit.Kind.COMMITTEE and case.unit.region_id == world.neighborhood.pk
    assert case.due_at == req.accept_due_at and case.resolve_due_at == req.complete_due_at
    assert _timeline(case) == [("submitted", "", "submitted")]
    # The unit was made on demand once: the next request of the neighborhood sits on the same one.
    assert _case(_request(world)).unit_id == case.unit_id
    assert ResponsibleUnit.objects.filter(region=world.neighborhood).count() == 1


def test_a_configured_committee_unit_is_used(world):
    unit = ResponsibleUnit.objects.create(name="宝林一村居委", kind="committee", region=world.neighborhood)
    assert _case(_request(world)).unit_id == unit.pk


def test_the_case_follows_every_move_rating_and_reopen(world):
    req = _request(world)
    do_transition_service_request(req.pk, actor=world.staff, to="accepted")
    case = _case(req)
    assert case.status == "accepted" and case.due_at == req.complete_due_at
    do_transition_service_request(req.pk, actor=world.staff, to="assigned")
    do_transition_service_request(req.pk, actor=world.worker, to="in_service")
    assert _case(req).status == "accepted"  # assignment and service are the request's own steps
    do_transition_service_request(req.pk, actor=world.worker, to="completed", note="已送达")
    case = _case(req)
    assert (case.status, case.answer, case.due_at) == ("resolved", "已送达", None)
    do_rate_service_request(req.pk, actor=world.son, score=2)
    case = _case(req)
    assert (case.status, case.rating) == ("confirmed", 2) and case.rated_at is not None
    do_transition_service_request(req.pk, actor=world.son, to="reopened", note="没送到")
    case = _case(req)
    req.refresh_from_db()
    assert (case.status, case.rating, case.reopen_count) == ("reopened", None, 1)
    assert case.due_at == min(req.accept_due_at, req.complete_due_at)
    assert [k for k, _, _ in _timeline(case)] == ["submitted", "accepted", "resolved", "confirmed", "rated", "reopened"]


def test_reject_and_cancel_end_the_case(world):
    rejected, cancelled = _request(world), _request(world)
    do_transition_service_request(rejected.pk, actor=world.staff, to="rejected", reason="不在服务范围")
    do_transition_service_request(cancelled.pk, actor=world.son, to="cancelled")
    assert (_case(rejected).status, _case(rejected).reject_reason, _case(rejected).due_at) == ("rejected", "不在服务范围", None)
    assert (_case(cancelled).status, _case(cancelled).due_at) == ("rejected", None)


def test_the_engine_escalates_once_per_round_with_the_service_notice(world, django_capture_on_commit_callbacks):
    req = _request(world)
    ServiceRequest.objects.filter(pk=req.pk).update(accept_due_at=timezone.now() - timedelta(hours=1))
    resync_case(req.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_escalate_overdue_cases() == 1
    case = _case(req)
    assert case.escalated_for is not None and case.events.filter(kind=CaseEvent.Kind.ESCALATED).count() == 1
    assert Notification.objects.filter(recipient=world.officer, kind="service_request_overdue").count() == 1
    assert Notification.objects.filter(recipient=world.staff, kind="service_request_overdue").count() == 1
    assert not Notification.objects.filter(kind="case_overdue").exists()
    # Accepted, then late for completion too: the case escalates on its new deadline, the
    # request (escalated this round already) tells nobody again.
    do_transition_service_request(req.pk, actor=world.staff, to="accepted")
    ServiceRequest.objects.filter(pk=req.pk).update(complete_due_at=timezone.now() - timedelta(minutes=1))
    resync_case(req.pk)
    assert do_escalate_overdue_cases() == 1
    assert Notification.objects.filter(kind="service_request_overdue").count() == 2
    assert ServiceRequest.objects.get(pk=req.pk).events.filter(kind="escalated").count() == 1


def test_a_plans_days_get_cases_and_a_pause_stops_their_deadlines(world, api_for):
    son = api_for(world.son)
    start = timezone.localdate() + timedelta(days=1)
    body = {"item": item("meal-delivery").pk, "frequency": "daily", "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=4)).isoformat(), "time_slot": "午餐", "extra": {"diet": "低盐"}}
    plan_id = son.post(PLANS, body).json()["id"]
    cases = Case.objects.filter(service_request__plan_id=plan_id)
    assert cases.count() == 5 and set(cases.values_list("status", flat=True)) == {"accepted"}  # straight to the provider
    assert son.post(f"{PLANS}/{plan_id}/pause").status_code == 200
    assert list(cases.values_list("due_at", flat=True).distinct()) == [None]
    assert son.post(f"{PLANS}/{plan_id}/resume").status_code == 200
    assert not cases.filter(due_at__isnull=True).exists()
    assert son.post(f"{PLANS}/{plan_id}/cancel").status_code == 200
    assert set(cases.values_list("status", flat=True)) == {"rejected"}
