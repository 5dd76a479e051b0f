"""services 0010: every existing request gets its case on the engine, its status mapped, due
times copied, on the neighborhood's 居委 unit (made where none exists), with a timeline row per
status change of its own timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests import factories as f

BEFORE = [("services", "0009_image_moved_to_images_app")]
AFTER = [("services", "0010_service_request_cases")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_requests_get_their_cases(neighborhood):
    son = f.resident(neighborhood)
    now = timezone.now()
    try:
        old = _migrate(BEFORE)
        Request = old.get_model("services", "ServiceRequest")
        Event = old.get_model("services", "ServiceRequestEvent")
        Rating = old.get_model("services", "ServiceRating")
        # Its own item: a transactional test before this one may have flushed the seeded catalog.
        category = old.get_model("services", "ServiceCategory").objects.create(code="mig-meal", name="助餐")
        item = old.get_model("services", "ServiceItem").objects.create(
            category=category, code="mig-meal-delivery", name="送餐", description="送餐上门",
            accept_within=timedelta(hours=2), complete_within=timedelta(hours=48),
        )

        def request(status, *moves, escalated=False):
            req = Request.objects.create(
                item=item, requester_id=son.pk, neighborhood_id=neighborhood.pk, street_id=neighborhood.parent_id,
                status=status, accept_due_at=now - timedelta(hours=1), complete_due_at=now + timedelta(hours=40),
                escalated_at=now if escalated else None,
            )
            Event.objects.create(request=req, kind="created", actor_id=son.pk, to_status="submitted")
            for before, after in moves:
                Event.objects.create(request=req, kind="transition", from_status=before, to_status=after)
            return req.pk

        waiting = request("submitted", escalated=True)
        assigned = request("assigned", ("submitted", "accepted"), ("accepted", "assigned"))
        rated = request("rated", ("submitted", "accepted"), ("accepted", "assigned"), ("assigned", "in_service"),
                        ("in_service", "completed"))
        Rating.objects.create(request_id=rated, rater_id=son.pk, score=4)

        new = _migrate(AFTER)
        Case = new.get_model("cases", "Case")
        cases = {c.service_request.pk: c for c in Case.objects.select_related("service_request", "unit")}
        assert {pk: c.status for pk, c in cases.items()} == {waiting: "submitted", assigned: "accepted", rated: "confirmed"}
        assert all(c.kind == "service_request" and c.unit.kind == "committee" for c in cases.values())
        assert len({c.unit_id for c in cases.values()}) == 1
        assert cases[waiting].due_at == now - timedelta(hours=1) and cases[waiting].escalated_for == cases[waiting].due_at
        assert cases[assigned].due_at == now + timedelta(hours=40) and cases[rated].due_at is None
        assert cases[rated].rating == 4
        timeline = list(cases[rated].events.order_by("created_at", "id").values_list("kind", flat=True))
        assert timeline == ["submitted", "accepted", "resolved"]
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
