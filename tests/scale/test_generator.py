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
    assert ResponsibleUnit.objects.count() == SMALL.responsible_units
    states = set(Case.objects.values_list("status", flat=True).distinct())
    assert states == set(Case.Status.values) - {Case.Status.MERGED}
    generated_now = dt.datetime(2026, 5, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert Case.objects.filter(due_at__lt=generated_now).exists()
    assert Case.objects.filter(due_at__gte=generated_now).exists()
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
