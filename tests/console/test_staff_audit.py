"""Who did what on the staff screens: an audit line per write, and the audit records outlive six
months (网络安全法 §21) — the privacy retention purge does not touch them."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from privacy.retention import purge_expired
from residents.models import Membership, SensitiveAccessLog
from tests import factories as f
from tests.core.test_structured_logs import json_lines  # noqa: F401  (fixture)


def test_a_console_decision_writes_an_audit_line_with_who_and_what_but_no_name(
    neighborhood, committee_staff, console_for, json_lines  # noqa: F811
):
    pending = f.MembershipFactory(
        neighborhood=neighborhood, status=Membership.Status.PENDING, is_current=False, decided_at=None,
        user=f.UserFactory(nickname="钱多多"),
    )
    response = console_for(committee_staff).post(f"/console/memberships/{pending.id}/decide/", {"decision": "approve"})
    assert response.status_code in (200, 302)
    audit = [line for line in json_lines() if line["logger"] == "stq.audit"]
    assert len(audit) == 1
    assert audit[0]["user_id"] == committee_staff.pk
    assert audit[0]["route"] == "console/memberships/<int:membership_id>/decide/"
    assert audit[0]["method"] == "POST" and audit[0]["status"] == response.status_code
    assert "钱多多" not in str(json_lines()) and "陈主任" not in str(json_lines())


def test_reads_do_not_write_audit_lines(committee_staff, console_for, json_lines):  # noqa: F811
    console_for(committee_staff).get("/console/")
    assert not [line for line in json_lines() if line["logger"] == "stq.audit"]


def test_the_retention_purge_keeps_audit_records_past_six_months(neighborhood, committee_staff):
    assert settings.AUDIT_RETENTION_DAYS >= 180
    subject = f.resident(neighborhood)
    ages = [settings.SENSITIVE_RETENTION_DAYS + 1, settings.AUDIT_RETENTION_DAYS, settings.AUDIT_RETENTION_DAYS + 30]
    for days in ages:
        entry = SensitiveAccessLog.objects.create(
            viewer=committee_staff, subject_user=subject, subject_label=f"user:{subject.pk}", field="phone", screen="/x"
        )
        SensitiveAccessLog.objects.filter(pk=entry.pk).update(viewed_at=timezone.now() - timedelta(days=days))
    results = purge_expired()
    assert -1 not in results.values()  # every purger ran
    assert SensitiveAccessLog.objects.filter(viewer=committee_staff).count() == len(ages)
