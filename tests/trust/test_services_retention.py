"""Retention for services: a request closed more than SENSITIVE_RETENTION_DAYS ago loses its
address, health note and who it was for; open and recently closed requests keep them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from services.actions.requests import check_create_service_request, do_create_service_request
from services.models import ServiceRequest
from tests.services import conftest as services_world
from tests.services.conftest import MEAL, item

world = services_world.world  # the services stories' fixture: 张三 and his mother 王阿婆

ADDRESS = "宝林一村5号楼301室"
HEALTH = "高血压，需低盐饮食"


def _request(world, *, status: str, closed_days_ago: int) -> ServiceRequest:
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    # Straight to the state and age the story needs: the lifecycle has its own tests.
    ServiceRequest.objects.filter(pk=req.pk).update(
        status=status, updated_at=timezone.now() - timedelta(days=closed_days_ago)
    )
    return ServiceRequest.objects.get(pk=req.pk)


@pytest.mark.parametrize("status", ["completed", "rated", "cancelled", "rejected"])
def test_request_closed_beyond_the_window_loses_its_sensitive_fields(world, settings, status):
    settings.SENSITIVE_RETENTION_DAYS = 180
    old = _request(world, status=status, closed_days_ago=181)
    assert (old.address, old.health_note, old.beneficiary_name) == (ADDRESS, HEALTH, "王阿婆")

    out = io.StringIO()
    call_command("purge_expired_sensitive_data", stdout=out)

    assert "services.closed_requests: 1" in out.getvalue()
    old.refresh_from_db()
    assert (old.address, old.health_note, old.beneficiary_name) == ("", "", "")
    assert old.status == status  # the record itself stays for the statistics


def test_recently_closed_and_open_requests_keep_them(world, settings):
    settings.SENSITIVE_RETENTION_DAYS = 180
    recent = _request(world, status="completed", closed_days_ago=179)
    still_open = _request(world, status="in_service", closed_days_ago=400)

    call_command("purge_expired_sensitive_data", stdout=io.StringIO())

    for req in (recent, still_open):
        req.refresh_from_db()
        assert (req.address, req.health_note) == (ADDRESS, HEALTH)


def test_purge_is_idempotent_and_does_not_touch_the_closing_time(world):
    old = _request(world, status="rated", closed_days_ago=400)
    call_command("purge_expired_sensitive_data", stdout=io.StringIO())
    out = io.StringIO()
    call_command("purge_expired_sensitive_data", stdout=out)
    assert "services.closed_requests: 0" in out.getvalue()
    old.refresh_from_db()
    assert old.updated_at < timezone.now() - timedelta(days=399)  # purging is not a change of the request
    assert (old.address, old.health_note) == ("", "")
