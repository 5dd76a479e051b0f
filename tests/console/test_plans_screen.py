"""定期服务 from the console: staff of the neighborhood pause, resume and cancel a meal plan."""

from datetime import timedelta

import pytest
from django.utils import timezone

from services.actions.plans import do_create_service_plan
from services.models import ServiceItem, ServicePlan, ServiceRequest
from tests import factories as f


@pytest.fixture
def plan(neighborhood):
    son = f.resident(neighborhood, nickname="张三")
    mother = f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, name="王阿婆", birth_year=1938, is_default=True)
    start = timezone.localdate() + timedelta(days=1)
    return do_create_service_plan(
        actor=son,
        item=ServiceItem.objects.get(code="meal-delivery"),
        frequency="daily",
        start_date=start,
        end_date=start + timedelta(days=4),
        time_slot="午餐",
        extra={"diet": "低盐", "time_slot": "午餐"},
        beneficiary_id=mother.pk,
    )


def _live(plan) -> int:
    return ServiceRequest.objects.filter(plan=plan).exclude(status__in=["cancelled", "paused"]).count()


def test_staff_pause_resume_and_cancel_a_plan(plan, committee_staff, console_for):
    client = console_for(committee_staff)
    page = client.get("/console/plans/").content.decode()
    assert f'data-plan="{plan.id}"' in page and "王阿婆" in page and 'data-action="pause"' in page
    client.post(f"/console/plans/{plan.id}/pause/", {"from_status": "active"})
    plan.refresh_from_db()
    assert plan.status == ServicePlan.Status.PAUSED and _live(plan) == 0
    client.post(f"/console/plans/{plan.id}/resume/", {"from_status": "paused"})
    plan.refresh_from_db()
    assert plan.status == ServicePlan.Status.ACTIVE and _live(plan) == 5
    response = client.post(f"/console/plans/{plan.id}/cancel/", {"from_status": "active"}, follow=True)
    plan.refresh_from_db()
    assert plan.status == ServicePlan.Status.CANCELLED and "已取消" in response.content.decode()


def test_a_stale_pause_changes_nothing_and_says_why(plan, committee_staff, street_officer, console_for):
    console_for(street_officer).post(f"/console/plans/{plan.id}/cancel/", {"from_status": "active"})
    response = console_for(committee_staff).post(
        f"/console/plans/{plan.id}/pause/", {"from_status": "active"}, follow=True
    )
    plan.refresh_from_db()
    assert plan.status == ServicePlan.Status.CANCELLED
    assert "状态已变化" in response.content.decode()


def test_resuming_an_active_plan_is_refused_by_services(plan, committee_staff, console_for):
    response = console_for(committee_staff).post(f"/console/plans/{plan.id}/resume/", follow=True)
    assert "状态已变化" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == ServicePlan.Status.ACTIVE


def test_officer_of_another_street_sees_no_plan_and_gets_404(plan, other_officer, console_for):
    client = console_for(other_officer)
    assert f'data-plan="{plan.id}"' not in client.get("/console/plans/").content.decode()
    assert client.post(f"/console/plans/{plan.id}/pause/").status_code == 404
    plan.refresh_from_db()
    assert plan.status == ServicePlan.Status.ACTIVE


def test_unknown_plan_action_is_refused(plan, committee_staff, console_for):
    response = console_for(committee_staff).post(f"/console/plans/{plan.id}/delete/", follow=True)
    assert "未知的操作" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == ServicePlan.Status.ACTIVE


def test_plan_actions_need_csrf(plan, committee_staff):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(committee_staff)
    assert client.post(f"/console/plans/{plan.id}/pause/").status_code == 403
