"""Retention: sensitive fields of things closed long ago are cleared by the purge job."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from privacy import retention
from privacy.tasks import purge_expired_sensitive_data
from residents.models import Beneficiary
from tests import factories as f


@pytest.fixture
def elder_purger():
    """A stand-in purger over beneficiaries until services.ServiceRequest lands on main."""

    def purge(cutoff):
        old = Beneficiary.objects.filter(deleted_at__lt=cutoff)
        count = 0
        for elder in old.select_for_update():
            if elder.address or elder.health_notes:
                elder.address = ""
                elder.health_notes = ""
                elder.save(update_fields=["address", "health_notes"])
                count += 1
        return count

    retention.register_purger("test.elders", purge)
    yield
    retention._purgers.pop("test.elders", None)


def test_only_data_closed_before_the_retention_window_is_cleared(db, settings, elder_purger):
    settings.SENSITIVE_RETENTION_DAYS = 180
    old = f.BeneficiaryFactory(deleted_at=timezone.now() - timedelta(days=181))
    recent = f.BeneficiaryFactory(deleted_at=timezone.now() - timedelta(days=179))
    out = io.StringIO()
    call_command("purge_expired_sensitive_data", stdout=out)
    assert "test.elders: 1" in out.getvalue()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.address, old.health_notes) == ("", "")
    assert recent.health_notes


def test_the_task_runs_the_same_purge_and_is_idempotent(db, elder_purger):
    f.BeneficiaryFactory(deleted_at=timezone.now() - timedelta(days=400))
    assert purge_expired_sensitive_data.enqueue().return_value["test.elders"] == 1
    assert purge_expired_sensitive_data.enqueue().return_value["test.elders"] == 0


def test_a_failing_purger_does_not_stop_the_others_and_fails_the_command(db, elder_purger):
    def broken(cutoff):
        raise RuntimeError("boom")

    retention.register_purger("test.broken", broken)
    try:
        elder = f.BeneficiaryFactory(deleted_at=timezone.now() - timedelta(days=400))
        with pytest.raises(CommandError):
            call_command("purge_expired_sensitive_data", stdout=io.StringIO())
        elder.refresh_from_db()
        assert elder.health_notes == ""
    finally:
        retention._purgers.pop("test.broken", None)
