"""manage.py generate_district: deterministic for a seed, counts as configured."""

import datetime as dt
import hashlib
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from bench.generate import SCALES
from residents.models import Beneficiary, Membership, Region, Role, User

SMALL = SCALES["small"]


def generate(seed: int, *, flush: bool = False) -> str:
    out = io.StringIO()
    args = ["generate_district", "--scale", "small", "--seed", str(seed), "--now", "2026-05-01", "--quiet"]
    call_command(*args, *(["--flush"] if flush else []), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def fingerprint() -> str:
    """What the generator decided (decrypted values, not the random Fernet ciphertexts)."""
    h = hashlib.sha256()
    for row in Region.objects.order_by("code").values_list("code", "name", "level", "households", "population"):
        h.update(repr(row).encode())
    for user in User.objects.order_by("username").only("username", "nickname", "openid", "phone", "date_joined"):
        h.update(repr((user.username, user.nickname, user.openid, user.phone, user.date_joined)).encode())
    for m in Membership.objects.order_by("id").select_related("user", "neighborhood"):
        h.update(repr((m.user.username, m.neighborhood.code, m.building, m.room, m.status, m.created_at)).encode())
    for row in Role.objects.order_by("user__username", "kind").values_list("user__username", "region__code", "kind"):
        h.update(repr(row).encode())
    return h.hexdigest()


@pytest.mark.django_db
def test_small_district_has_the_configured_counts():
    summary = generate(1)
    assert "generated scale=small seed=1" in summary
    assert Region.objects.filter(level=Region.Level.STREET).count() == SMALL.streets
    neighborhoods = Region.objects.filter(level=Region.Level.NEIGHBORHOOD)
    assert neighborhoods.count() == SMALL.neighborhoods
    assert neighborhoods.aggregate(n=Sum("households"))["n"] == SMALL.households
    assert Region.objects.filter(level=Region.Level.BUILDING_GROUP).count() == (
        SMALL.neighborhoods * SMALL.building_groups_per_neighborhood
    )
    assert Membership.objects.count() == SMALL.residents
    assert Membership.objects.values("household_key").distinct().count() == SMALL.joined_households
    party = Role.objects.filter(kind=Role.Kind.PARTY_MEMBER).count()
    assert 0.8 * SMALL.party_members <= party <= 1.2 * SMALL.party_members
    # Every neighborhood has committee staff and every street officers, so dashboards have viewers.
    for nb in neighborhoods:
        assert Role.objects.filter(kind=Role.Kind.COMMITTEE_STAFF, region=nb).exists()
    assert Role.objects.filter(kind=Role.Kind.STREET_OFFICER).count() == 3 * SMALL.streets
    assert Beneficiary.objects.count() == SMALL.beneficiaries
    # Sensitive fields are stored encrypted and read back in clear.
    member = Membership.objects.order_by("id").first()
    assert member.room.endswith("室")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT room FROM {Membership._meta.db_table} WHERE id = %s", [member.pk])
        assert cursor.fetchone()[0].startswith("enc1:")
    from services.models import ServiceRequest

    # Every status but `paused`: a plan's held day, which only a pause makes (the generator pauses no plan).
    generated = set(ServiceRequest.objects.values_list("status", flat=True).distinct())
    assert generated == set(ServiceRequest.Status.values) - {ServiceRequest.Status.PAUSED}
    assert ServiceRequest.objects.count() == SMALL.service_requests
    from cases.models import Case, ResponsibleUnit
    from matters.models import Matter

    # Matters: every case state but merged, routed to the configured units, some past their deadline.
    assert Matter.objects.count() == SMALL.matters
    # The matters' units, and one 居委 unit per neighborhood for the service requests' cases.
    assert ResponsibleUnit.objects.exclude(kind=ResponsibleUnit.Kind.COMMITTEE).count() == SMALL.responsible_units
    assert ResponsibleUnit.objects.filter(kind=ResponsibleUnit.Kind.COMMITTEE).count() == SMALL.neighborhoods
    states = set(Case.objects.filter(kind="matter").values_list("status", flat=True).distinct())
    assert states == set(Case.Status.values) - {Case.Status.MERGED}
    generated_now = dt.datetime(2026, 5, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert Case.objects.filter(kind="matter", due_at__lt=generated_now).exists()
    assert Case.objects.filter(kind="matter", due_at__gte=generated_now).exists()
    district = Region.objects.get(code="310113000000")
    assert district.settings["generated"]["seed"] == 1


@pytest.mark.slow  # three generations of the small district: 12.9 s measured
@pytest.mark.django_db
def test_same_seed_gives_the_same_district_and_another_seed_does_not():
    generate(7)
    first = fingerprint()
    generate(7, flush=True)
    assert fingerprint() == first
    generate(8, flush=True)
    assert fingerprint() != first


@pytest.mark.django_db
def test_it_refuses_to_write_over_existing_data_without_flush(neighborhood):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        generate(1)
    assert not Region.objects.filter(code="310113000000").exists() or Region.objects.count() == 3


@pytest.mark.django_db
def test_check_reports_whether_this_scale_and_seed_is_loaded():
    out = io.StringIO()
    call_command("generate_district", "--check", "--scale", "small", "--seed", "3", stdout=out)
    assert out.getvalue().strip() == "absent"
    generate(3)
    out = io.StringIO()
    call_command("generate_district", "--check", "--scale", "small", "--seed", "3", stdout=out)
    assert out.getvalue().strip() == "present"


@pytest.mark.django_db
def test_every_generated_request_has_its_case_as_the_engine_keeps_it():
    """Issue 17: requests live on the case engine. Each generated request has its case on its
    neighborhood's 居委 unit, in the mapped state with its deadlines; re-deriving the case from
    the request (resync_case) changes nothing, and the engine would make no second 居委 unit.
    (That the row and timeline match what the live actions leave: tests/services/test_generated_cases.py.)"""
    from cases.models import Case, CaseEvent
    from cases.units import committee_unit
    from services.actions.case_mirror import CASE_STATUS, case_due, resync_case
    from services.models import ServiceRequest

    generate(1)
    columns = ("status", "accept_due_at", "resolve_due_at", "due_at", "unit_id", "neighborhood_id", "street_id", "reporter_id")
    requests = list(ServiceRequest.objects.select_related("case", "case__unit", "neighborhood").order_by("pk"))
    assert len(requests) == SMALL.service_requests
    for req in requests:
        case = req.case
        assert case is not None and case.kind == "service_request"
        assert (case.status, case.accept_due_at, case.resolve_due_at, case.due_at) == (
            CASE_STATUS[req.status], req.accept_due_at, req.complete_due_at, case_due(req)
        )
        assert (case.neighborhood_id, case.street_id, case.reporter_id) == (req.neighborhood_id, req.street_id, req.requester_id)
        assert case.unit.kind == "committee" and case.unit.region_id == req.neighborhood_id
        assert (case.escalated_for is not None) == (req.escalated_at is not None)
    before = {c["pk"]: c for c in Case.objects.filter(kind="service_request").values("pk", *columns)}
    for req in requests:
        resync_case(req.pk)
    assert {c["pk"]: c for c in Case.objects.filter(kind="service_request").values("pk", *columns)} == before
    for nb in {req.neighborhood for req in requests}:
        assert committee_unit(nb).pk == next(r.case.unit_id for r in requests if r.neighborhood_id == nb.pk)
    # One `submitted` row per case, first; a rated request's case has its confirmation and rating.
    events = CaseEvent.objects.filter(case__kind="service_request")
    assert events.filter(kind="submitted").count() == len(requests)
    rated = next(r for r in requests if r.status == ServiceRequest.Status.RATED)
    assert [k for k in rated.case.events.order_by("created_at", "id").values_list("kind", flat=True)] == [
        "submitted", "accepted", "resolved", "confirmed", "rated",
    ]
    assert rated.case.rating == rated.rating.score
