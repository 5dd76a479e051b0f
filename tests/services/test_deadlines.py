"""Every request carries due times; late ones sort first and escalate to the street once.

The sweep is the case engine's (`cases.actions.do_escalate_overdue_cases`): it reads the
request's case, so a deadline moved by hand is written to the case too (`resync_case`)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from cases.tasks import escalate_overdue_cases
from notifications.models import Notification
from services.actions.case_mirror import resync_case
from services.actions.requests import check_create_service_request, do_create_service_request
from services.models import ServiceRequest
from tests.services.conftest import MEAL, item


def _late(world, code="meal-delivery", extra=MEAL, hours=3):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item(code), extra=extra))
    # Time travel: the accept deadline passed `hours` ago.
    ServiceRequest.objects.filter(pk=req.pk).update(accept_due_at=timezone.now() - timedelta(hours=hours))
    resync_case(req.pk)
    return req


def test_due_times_come_from_the_item(world):
    meal = item("meal-delivery")
    req = do_create_service_request(check_create_service_request(actor=world.son, item=meal, extra=MEAL))
    assert abs((req.accept_due_at - req.created_at) - meal.accept_within) < timedelta(seconds=2)
    assert abs((req.complete_due_at - req.created_at) - meal.complete_within) < timedelta(seconds=2)


def test_overdue_request_surfaces_first_to_the_officer(world, api_for):
    fresh = do_create_service_request(check_create_service_request(actor=world.son, item=item("safety-emergency-call")))
    late = _late(world)
    rows = api_for(world.officer).get("/api/v1/service-requests").json()["results"]
    assert [r["id"] for r in rows] == [late.pk, fresh.pk]
    assert rows[0]["is_overdue"] is True and rows[1]["is_overdue"] is False
    only_late = api_for(world.officer).get("/api/v1/service-requests", {"overdue": "true"}).json()["results"]
    assert [r["id"] for r in only_late] == [late.pk]
    counts = api_for(world.officer).get("/api/v1/service-requests/counts").json()
    assert counts["overdue"] == 1 and counts["by_status"]["submitted"] == 2


def test_escalation_marks_once_and_tells_the_street_officer_once(world, django_capture_on_commit_callbacks):
    late = _late(world)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_escalate_overdue_cases() == 1
        assert do_escalate_overdue_cases() == 0
    late.refresh_from_db()
    assert late.escalated_at is not None
    assert Notification.objects.filter(recipient=world.officer, kind="service_request_overdue").count() == 1
    assert not Notification.objects.filter(recipient=world.other_officer).exists()
    assert late.events.filter(kind="escalated").count() == 1


def test_the_task_and_the_command_run_the_same_sweep(world):
    _late(world)
    result = escalate_overdue_cases.enqueue()  # ImmediateBackend in tests
    assert result.return_value == 1
    _late(world)
    call_command("escalate_overdue_cases")
    assert ServiceRequest.objects.filter(escalated_at__isnull=False).count() == 2


def test_accepted_request_is_not_late_for_acceptance_but_is_late_for_completion(world):
    req = _late(world)
    ServiceRequest.objects.filter(pk=req.pk).update(status="accepted")
    resync_case(req.pk)
    assert do_escalate_overdue_cases() == 0
    ServiceRequest.objects.filter(pk=req.pk).update(complete_due_at=timezone.now() - timedelta(minutes=1))
    resync_case(req.pk)
    assert do_escalate_overdue_cases() == 1


def test_closed_requests_never_escalate(world):
    req = _late(world)
    ServiceRequest.objects.filter(pk=req.pk).update(status="cancelled", complete_due_at=timezone.now() - timedelta(days=1))
    resync_case(req.pk)
    assert do_escalate_overdue_cases() == 0
