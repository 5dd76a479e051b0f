"""The bench's sensor generator (bench/generate/sensors.py) makes what the load row pushes to:
two consented sensors per home, smoke sensors in sheds, the bench integration; once."""

from __future__ import annotations

from django.utils import timezone

from bench.generate.sensor_ids import VENDOR, home_device_id, shed_device_id
from bench.generate.sensors import make_sensors
from residents.models import Beneficiary
from sensors.models import Device, HomeConsent, Integration
from tests import factories as f


def test_homes_get_two_consented_sensors_and_sheds_smoke_sensors(db, neighborhood):
    f.BeneficiaryFactory(neighborhood=neighborhood)
    f.resident(neighborhood)
    result = make_sensors(homes=5, sheds=4, out=lambda _m: None)
    assert (result["devices"], result["present"]) == (14, False)
    assert Beneficiary.objects.count() == 5  # topped up from the one registered elder
    homes = Device.objects.filter(vendor=VENDOR, home__isnull=False)
    assert homes.count() == 10
    consented = set(HomeConsent.objects.filter(withdrawn_at__isnull=True).values_list("beneficiary_id", flat=True))
    assert set(homes.values_list("home_id", flat=True)) == consented
    assert Device.objects.get(vendor_device_id=home_device_id(5, "door")).kind == Device.Kind.DOOR
    assert Device.objects.get(vendor_device_id=shed_device_id(4)).place.kind == "shed"
    assert make_sensors(homes=5, sheds=4, out=lambda _m: None)["present"] is True
    assert Integration.objects.filter(vendor=VENDOR).count() == 1 and Device.objects.count() == 14


def test_push_member_gets_each_shed_alarm_case_in_the_outbox(db, neighborhood, django_capture_on_commit_callbacks):
    from bench.generate.sensor_ids import PUSH_OPENID
    from bench.generate.sensors import prepare_alarm_push
    from notifications.models import OutboxMessage
    from sensors.actions.alarms import do_raise_alarms
    from sensors.models import SensorCase, SensorEvent

    f.BeneficiaryFactory(neighborhood=neighborhood)
    make_sensors(homes=1, sheds=2, out=lambda _m: None)
    member = prepare_alarm_push()
    smoke = Device.objects.get(vendor_device_id=shed_device_id(1))
    event = SensorEvent.objects.create(
        integration=Integration.objects.get(vendor=VENDOR), vendor_event_id="x1", device=smoke, type="alarm",
        occurred_at=timezone.now(), batch="00000000-0000-0000-0000-000000000001",
    )
    with django_capture_on_commit_callbacks(execute=True):
        do_raise_alarms({smoke.pk: [event]})
    alert = SensorCase.objects.get(device=smoke)
    outbox = OutboxMessage.objects.get(event_key__startswith=f"case:{alert.case_id}:assigned:")
    assert (outbox.recipient_id, outbox.openid) == (member, PUSH_OPENID)
    # Run again (a second bench run): idempotent, and the open alert is closed so the next alarm opens a case.
    assert prepare_alarm_push() == member
    alert.refresh_from_db()
    assert not alert.is_open
