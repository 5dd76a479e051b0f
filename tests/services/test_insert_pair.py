"""core.insert.insert_pair writes, in one PostgreSQL statement, the rows two save() calls write:
every column, encrypted ones included, and NULL foreign keys."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from core.insert import insert_pair
from services.models import ServiceRequest, ServiceRequestEvent
from tests import factories as f
from tests.services.conftest import item

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="elsewhere insert_pair is save() twice, so there is nothing to compare",
    ),
]


NOW = timezone.now()


def _pair(world, *, on_behalf: bool, actor, now=NOW):
    request = ServiceRequest(
        item=item("meal-delivery"), requester=world.son, created_by=world.son,
        beneficiary=world.mother if on_behalf else None, beneficiary_name="王阿婆", neighborhood=world.neighborhood,
        street_id=world.neighborhood.parent_id, filed_on_behalf=on_behalf, address="宝山路1号 3-201",
        health_note="糖尿病，低糖" if on_behalf else "", note="", extra={"diet": "低盐", "n": [1, 2]},
        scheduled_for=now + dt.timedelta(days=1) if on_behalf else None,
        accept_due_at=now + dt.timedelta(hours=2), complete_due_at=now + dt.timedelta(days=1),
    )
    event = ServiceRequestEvent(
        kind=ServiceRequestEvent.Kind.CREATED, actor=actor, from_status="", to_status=request.status,
        note="居委代为申请" if on_behalf else "",
    )
    return request, event


def _columns(model, pk) -> dict:
    row = model.objects.filter(pk=pk).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "request_id", "created_at", "updated_at")}


def _stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as c:
        c.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return c.fetchone()[0]


@pytest.mark.parametrize("on_behalf", [True, False])
def test_one_statement_writes_what_two_saves_write(world, on_behalf, django_assert_num_queries):
    actor = world.staff if on_behalf else None
    by_orm, by_orm_event = _pair(world, on_behalf=on_behalf, actor=actor)
    by_orm.save()
    by_orm_event.request = by_orm
    by_orm_event.save()
    request, event = _pair(world, on_behalf=on_behalf, actor=actor)
    before = timezone.now()
    with django_assert_num_queries(1):
        insert_pair(request, event, "request")
    assert request.pk and event.pk and event.request_id == request.pk and not request._state.adding
    assert _columns(ServiceRequest, request.pk) == _columns(ServiceRequest, by_orm.pk)
    assert _columns(ServiceRequestEvent, event.pk) == _columns(ServiceRequestEvent, by_orm_event.pk)
    stored = ServiceRequest.objects.get(pk=request.pk)
    assert stored.created_at == request.created_at and stored.created_at >= before
    assert ServiceRequestEvent.objects.get(pk=event.pk).created_at == event.created_at
    # Encrypted at rest, like the ORM's row: the stored text is not the address.
    assert "宝山路" not in _stored("services_servicerequest", "address", request.pk)
    assert stored.address == "宝山路1号 3-201"


def test_a_failing_child_leaves_no_parent(world):
    request, event = _pair(world, on_behalf=False, actor=None)
    event.to_status = "x" * 100  # longer than the column allows
    count = ServiceRequest.objects.count()
    with pytest.raises(Exception):  # noqa: B017 - the database's own error, whatever its class
        from django.db import transaction

        with transaction.atomic():
            insert_pair(request, event, "request")
    assert ServiceRequest.objects.count() == count
    f.UserFactory()  # the connection is usable afterwards
