"""Readings from a home are personal data: consent before binding, export and erasure cover
them, raw events age out with the retention purge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import Conflict, NotFound
from privacy.pipl import export_user
from sensors.actions.consents import do_record_home_consent, do_withdraw_home_consent
from sensors.models import Device, HomeConsent, SensorEvent
from sensors.pipl import purge_raw_events
from tests import factories as f
from tests.sensors.conftest import event, push


def test_staff_record_consent_once_and_only_in_their_neighborhood(world, other_neighborhood):
    elder = f.BeneficiaryFactory(neighborhood=world.neighborhood)
    consent = do_record_home_consent(elder.pk, actor=world.staff, given_by="elder", given_by_name="王阿婆", method="paper")
    assert (consent.beneficiary, consent.recorded_by, consent.withdrawn_at) == (elder, world.staff, None)
    with pytest.raises(Conflict):
        do_record_home_consent(elder.pk, actor=world.staff, given_by="family", given_by_name="张三", method="app")
    with pytest.raises(NotFound):
        do_record_home_consent(elder.pk, actor=f.staff(other_neighborhood), given_by="elder", given_by_name="王阿婆", method="paper")


def test_withdrawing_consent_unbinds_the_home_devices_and_deletes_their_readings(world):
    push(world.integration, [event("d1", "DOOR-1", "reading", value=1), event("s1", "SMK-1")])
    assert do_withdraw_home_consent(world.elder.pk, actor=world.elder.owner) == 1
    world.door.refresh_from_db()
    assert (world.door.home, world.door.state) == (None, Device.State.RETIRED)
    assert list(SensorEvent.objects.values_list("vendor_event_id", flat=True)) == ["s1"]
    assert HomeConsent.objects.get(beneficiary=world.elder).withdrawn_at is not None
    # A retired device's later events are refused.
    assert push(world.integration, [event("d2", "DOOR-1")]).json()["refused"][0]["code"] == "device_retired"


def test_export_and_erasure_cover_the_home_readings(world):
    from privacy.pipl import erasers

    push(world.integration, [event("d1", "DOOR-1", "reading", value={"open": True}), event("s1", "SMK-1")])
    owner = world.elder.owner
    section = export_user(owner)["sections"]["sensors"]
    assert [d["vendor_device_id"] for d in section["devices"]] == ["DOOR-1"]
    assert [e["vendor_event_id"] for e in section["sensor_events"]] == ["d1"]
    assert section["home_consents"][0]["given_by_name"] == "张三"
    erasers()["sensors"](owner)
    assert not Device.objects.filter(home=world.elder).exists()
    assert list(SensorEvent.objects.values_list("vendor_event_id", flat=True)) == ["s1"]


def test_raw_events_are_purged_by_age(world):
    push(world.integration, [event("old", "SMK-1"), event("new", "SMK-1", at="2026-03-02T08:00:00+08:00")])
    SensorEvent.objects.filter(vendor_event_id="old").update(received_at=timezone.now() - dt.timedelta(days=200))
    assert purge_raw_events(timezone.now() - dt.timedelta(days=180)) == 1
    assert purge_raw_events(timezone.now() - dt.timedelta(days=180)) == 0
    assert list(SensorEvent.objects.values_list("vendor_event_id", flat=True)) == ["new"]
