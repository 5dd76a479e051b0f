"""Readings from a home are personal data: consent before binding, export and erasure cover
them, raw events age out with the retention purge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import Conflict, NotFound
from privacy.pipl import export_user
from sensors.actions.consents import do_record_home_consent, do_withdraw_home_consent
from sensors.models import Device, DeviceDayAggregate, HomeConsent, SensorEvent
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


def test_binding_a_device_to_a_home_without_consent_is_refused_with_a_clear_error(world, client):
    from django.core.exceptions import ValidationError

    unconsented = f.BeneficiaryFactory(neighborhood=world.neighborhood)
    device = Device(kind=Device.Kind.INFRARED, vendor="acme", vendor_device_id="IR-9", region=world.neighborhood, home=unconsented)
    with pytest.raises(ValidationError) as refused:
        device.full_clean()
    assert "尚未登记居家设备授权" in refused.value.message_dict["home"][0]
    # The admin form runs the same check: nothing is saved.
    admin = f.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post("/admin/sensors/device/add/", {
        "kind": "infrared", "vendor": "acme", "vendor_device_id": "IR-9", "region": world.neighborhood.pk,
        "home": unconsented.pk, "state": "normal",
    })
    assert response.status_code == 200 and "尚未登记居家设备授权" in response.content.decode()
    assert not Device.objects.filter(vendor_device_id="IR-9").exists()
    # With consent recorded the same binding is accepted.
    HomeConsent.objects.create(beneficiary=unconsented, given_by="elder", given_by_name="王阿婆", method="paper", given_at=timezone.now())
    device.full_clean()


def test_raw_readings_have_their_own_retention_and_leave_daily_aggregates(world, settings):
    settings.SENSITIVE_RETENTION_DAYS, settings.SENSOR_RAW_RETENTION_DAYS = 180, 30
    push(world.integration, [
        event("b1", "DOOR-1", "battery", at="2026-03-01T07:00:00+08:00", value=80),
        event("b2", "DOOR-1", "battery", at="2026-03-01T20:00:00+08:00", value=60),
        event("b3", "DOOR-1", "battery", at="2026-03-01T12:00:00+08:00", value=90),
        event("r1", "DOOR-1", "reading", at="2026-03-01T09:00:00+08:00", value={"open": True}),
        event("h1", "DOOR-1", "heartbeat", at="2026-03-01T23:59:00+08:00"),
        event("h2", "DOOR-1", "heartbeat", at="2026-03-02T00:01:00+08:00"),  # the next Shanghai day
        event("s1", "SMK-1", "alarm", at="2026-03-01T03:00:00+08:00"),
        event("keep", "SMK-1", "heartbeat", at="2026-03-02T08:00:00+08:00"),
    ])
    old = timezone.now() - dt.timedelta(days=40)  # past the sensors' 30 days, within the general 180
    SensorEvent.objects.exclude(vendor_event_id="keep").update(received_at=old)
    sensitive_cutoff = timezone.now() - dt.timedelta(days=180)
    assert purge_raw_events(sensitive_cutoff) == 7
    assert list(SensorEvent.objects.values_list("vendor_event_id", flat=True)) == ["keep"]
    rows = {(a.device.vendor_device_id, a.day.isoformat()): a for a in DeviceDayAggregate.objects.select_related("device")}
    door = rows["DOOR-1", "2026-03-01"]
    assert (door.readings, door.alarms, door.heartbeats, door.batteries) == (1, 0, 1, 3)
    assert (door.battery_min, door.battery_max, door.battery_last) == (60, 90, 60)  # last by time, not arrival
    assert rows["DOOR-1", "2026-03-02"].heartbeats == 1
    assert (rows["SMK-1", "2026-03-01"].alarms, rows["SMK-1", "2026-03-01"].battery_last) == (1, None)
    # A later purge of the same day adds to the aggregate instead of replacing it.
    push(world.integration, [event("b4", "DOOR-1", "battery", at="2026-03-01T21:00:00+08:00", value=55)])
    SensorEvent.objects.filter(vendor_event_id="b4").update(received_at=old)
    assert purge_raw_events(sensitive_cutoff) == 1
    door.refresh_from_db()
    assert (door.batteries, door.battery_min, door.battery_last) == (4, 55, 55)
    assert purge_raw_events(sensitive_cutoff) == 0


def test_export_and_erasure_cover_the_daily_aggregates(world):
    from privacy.pipl import erasers

    push(world.integration, [event("d1", "DOOR-1", "battery", value=70), event("s1", "SMK-1", "battery", value=50)])
    SensorEvent.objects.update(received_at=timezone.now() - dt.timedelta(days=400))
    purge_raw_events(timezone.now() - dt.timedelta(days=180))
    owner = world.elder.owner
    section = export_user(owner)["sections"]["sensors"]
    assert [(a["device_id"], a["battery_last"]) for a in section["sensor_day_aggregates"]] == [(world.door.pk, 70)]
    erasers()["sensors"](owner)
    assert list(DeviceDayAggregate.objects.values_list("device_id", flat=True)) == [world.smoke.pk]
