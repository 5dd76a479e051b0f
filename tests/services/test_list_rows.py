"""The request list's plain-row read path (services/list_rows.py) answers what ServiceRequestOut
answered on the same rows, byte for byte, for every role that reads the list, in a fixed number
of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from images.models import Image
from residents.models import Role
from services import list_rows, queries
from services.access import visible_requests_for
from services.actions.ratings import do_rate_service_request
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRating, ServiceRequest, ServiceRequestPhoto, TextStatus
from services.serializers import ServiceRequestOut
from tests import factories as f
from tests.services.conftest import MEAL, item, volunteer

URL = "/api/v1/service-requests"
ROLES = ["staff", "officer", "admin", "son", "neighbor", "worker", "volunteer", "outsider", "other_officer"]


def _photo(owner, status=Image.Status.PASSED) -> Image:
    return Image.objects.create(
        owner=owner, file=f"images/test/{owner.pk}-{status}.jpg", thumbnail=f"images/test/{owner.pk}-{status}_t.jpg",
        format="jpeg", width=800, height=600, size_bytes=1000, status=status,
    )


def _create(actor, code="safety-emergency-call", **kwargs) -> ServiceRequest:
    return do_create_service_request(check_create_service_request(actor=actor, item=item(code), **kwargs))


@pytest.fixture
def people(world, district):
    world.volunteer = volunteer(world.street, nickname="志愿者小李")
    world.admin = f.UserFactory(nickname="钱主任")
    f.RoleFactory(user=world.admin, region=district, kind=Role.Kind.DISTRICT_ADMIN)
    return world


def _make_rows(w) -> None:
    """Rows that exercise each field: masked address and health note, a held note, extra with a
    field to confirm, deadlines past and future, an organization and a volunteer, completion photos
    passed and not yet, a rating with a held comment, a plain rating, rejection, the other street."""
    held = _create(w.son, "medical-escort", extra={"needs_wheelchair": True}, note="请下午来", health_note="高血压")
    ServiceRequest.objects.filter(pk=held.pk).update(note_status=TextStatus.PENDING_REVIEW)
    late = _create(w.neighbor, scheduled_for=timezone.now() + dt.timedelta(days=1))
    ServiceRequest.objects.filter(pk=late.pk).update(accept_due_at=timezone.now() - dt.timedelta(hours=1))
    to_org = _create(w.son, "meal-delivery", extra=MEAL, beneficiary_id=w.mother.pk)
    do_transition_service_request(to_org.pk, actor=w.staff, to="accepted")
    do_transition_service_request(to_org.pk, actor=w.staff, to="assigned", assignee_org_id=w.org.pk)
    to_volunteer = _create(w.neighbor)
    do_transition_service_request(to_volunteer.pk, actor=w.staff, to="accepted")
    do_transition_service_request(to_volunteer.pk, actor=w.staff, to="assigned", assignee_user_id=w.volunteer.pk)
    rated = []
    for comment, status in (("很好", TextStatus.PUBLISHED), ("再说", TextStatus.PENDING_REVIEW)):
        req = _create(w.son, "meal-delivery", extra=MEAL)
        do_transition_service_request(req.pk, actor=w.staff, to="accepted")
        do_transition_service_request(req.pk, actor=w.staff, to="assigned", assignee_org_id=w.org.pk)
        do_transition_service_request(req.pk, actor=w.worker, to="in_service")
        photos = [_photo(w.worker), _photo(w.worker, Image.Status.CHECKING)]
        do_transition_service_request(req.pk, actor=w.worker, to="completed", note="已送达", photos=[p.pk for p in photos])
        do_rate_service_request(req.pk, actor=w.son, score=5, comment=comment)
        ServiceRating.objects.filter(request=req).update(comment_status=status)
        rated.append(req)
    rejected = _create(w.neighbor)
    do_transition_service_request(rejected.pk, actor=w.staff, to="rejected", reason="不在服务范围")
    _create(w.outsider)


@pytest.fixture
def every_kind_of_row(people):
    _make_rows(people)
    assert ServiceRequestPhoto.objects.count() == 4
    return people


def _old(viewer) -> bytes:
    listing = queries.for_list(visible_requests_for(viewer), viewer).order_by(*queries.QUEUE_ORDERING)
    return JSONRenderer().render(ServiceRequestOut(list(listing), many=True, context={"viewer": viewer}).data)


def _new(viewer) -> bytes:
    page = list(visible_requests_for(viewer, base=list_rows.listing()).order_by(*queries.QUEUE_ORDERING))
    return JSONRenderer().render(list_rows.rows(page, viewer))


@pytest.mark.parametrize("who", ROLES)
def test_plain_rows_are_the_serializers_json_byte_for_byte(every_kind_of_row, who):
    viewer = getattr(every_kind_of_row, who)
    old = _old(viewer)
    assert _new(viewer) == old
    assert old != b"[]" or who == "other_officer"  # each role but the other street's officer sees rows


def test_the_rows_show_what_the_list_promises(every_kind_of_row, api_for):
    w = every_kind_of_row
    staff = {r["id"]: r for r in api_for(w.staff).get(URL, {"limit": 100}).json()["results"]}
    worker = {r["id"]: r for r in api_for(w.worker).get(URL, {"limit": 100}).json()["results"]}
    held = next(r for r in staff.values() if r["note_status"] == TextStatus.PENDING_REVIEW)
    assert held["note"] == "请下午来" and held["health_note"] == "****" and held["sensitive_masked"] is True
    assert {"key": "hospital", "label": "医院"} in held["to_confirm"] and held["extra"]["needs_wheelchair"] is True
    rated = [r for r in worker.values() if r["status"] == "rated"]
    assert sorted(r["rating"]["comment"] for r in rated) == ["", "很好"]  # the provider waits for the check
    # The photo still in WeChat's check: its uploader sees it, staff do not yet.
    assert all(len(r["completion_photos"]) == 2 for r in rated)
    assert all(len(staff[r["id"]]["completion_photos"]) == 1 for r in rated)
    assert any(r["assigned_user"] and r["assigned_user"]["name"] == "志愿者小李" for r in staff.values())


@pytest.mark.parametrize("who", ["staff", "son", "worker"])
def test_the_list_reads_a_fixed_number_of_statements(every_kind_of_row, api_for, who):
    w = every_kind_of_row
    api = api_for(getattr(w, who))
    api.get(URL)  # the token's last_used_at write happens once

    def statements() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(URL, {"limit": 100}).status_code == 200
        return len(ctx.captured_queries)

    before = statements()
    _make_rows(w)  # twice the rows, of every kind
    assert statements() == before
    # token, roles, provider organizations, the page, items, neighborhoods, organizations, photos
    assert before <= 8
