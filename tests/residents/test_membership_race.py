"""Two staff members decide the same application at the same moment: one wins, the other gets 409."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from tests import factories as f
from tests.conftest import Api


@pytest.mark.postgres
@pytest.mark.skipif(
    "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="in-memory SQLite locks whole tables across threads; the locked re-check is shown sequentially "
    "in test_memberships.py::test_decision_rechecks_the_state_under_the_lock, and CI runs this on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_two_staff_deciding_at_once_one_wins_the_other_gets_409(neighborhood):
    membership = f.MembershipFactory(neighborhood=neighborhood, status="pending", is_current=False)
    clients = [Api(f.staff(neighborhood)), Api(f.staff(neighborhood))]
    decisions = [{"decision": "approve"}, {"decision": "reject", "reason": "不符"}]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def decide(i: int) -> None:
        try:
            barrier.wait()
            results[i] = clients[i].post(f"/api/v1/memberships/{membership.pk}/decision", decisions[i])
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409], [r.content for r in results]
    loser = next(r for r in results if r.status_code == 409).json()
    membership.refresh_from_db()
    assert loser["error"]["detail"] == {"current": membership.status}
    assert membership.status in ("approved", "rejected")
