"""物联感知 at Baoshan shape (issue 18): 40,000 lone elders' homes with two sensors each (红外人体
and 门磁, each home with its recorded consent) plus 2,000 烟感 in e-bike sheds (two per shed),
one vendor integration with a fixed bench secret. `manage.py generate_sensors` runs it on any
generated district (bench/management/commands/generate_sensors.py).

The homes are the district's registered elders first (generate_district makes 40,000 at Baoshan
scale); a smaller district is topped up with further elders registered by residents of the
busiest neighborhoods, so the device count is the same at every scale. bulk_create in batches:
every row is a plain insert (encrypted beneficiary fields go through the ORM's field encryption).
Idempotent: a district that already has the integration is left alone.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.db.models import Count

from residents.models import Beneficiary, Membership, Region
from sensors.models import Device, HomeConsent, Integration, Place, SensorCase, SensorEvent

from . import rng_for
from .sensor_ids import PUSH_OPENID, PUSH_TEMPLATE, SECRET, VENDOR, home_device_id, shed_device_id

BATCH = 5_000
SHED_SENSORS_PER_SHED = 2


def _top_up_homes(missing: int, seed: int) -> None:
    """Further elders registered by residents of the busiest neighborhoods (bench data only)."""
    r = rng_for(seed, "sensor-homes")
    families = list(
        Membership.objects.filter(status=Membership.Status.APPROVED).values_list("user_id", "neighborhood_id")
        .order_by("pk")[: max(missing, 1) * 2]
    )
    if not families:
        raise RuntimeError("no approved residents to register elders: run generate_district first")
    rows = []
    for i in range(missing):
        owner, nb = families[i % len(families)]
        rows.append(Beneficiary(
            owner_id=owner, neighborhood_id=nb, name=f"独居老人{i + 1}", relation=r.choice(["母亲", "父亲"]),
            birth_year=r.randint(1930, 1950), phone="", address=f"{r.randint(1, 60)}号{r.randint(1, 6)}0{r.randint(1, 4)}室",
            health_notes="",
        ))
    Beneficiary.objects.bulk_create(rows, batch_size=BATCH)


def make_sensors(*, homes: int = 40_000, sheds: int = 2_000, seed: int = 1, out=print) -> dict:
    if Integration.objects.filter(vendor=VENDOR).exists():
        integration = Integration.objects.get(vendor=VENDOR)
        return {"integration": integration.pk, "present": True, "devices": Device.objects.filter(vendor=VENDOR).count()}
    started = time.monotonic()
    have = Beneficiary.objects.filter(deleted_at__isnull=True).count()
    if have < homes:
        _top_up_homes(homes - have, seed)
        out(f"  topped up {homes - have} elders' homes ({time.monotonic() - started:.1f}s)")
    elders = list(Beneficiary.objects.filter(deleted_at__isnull=True).order_by("pk").values_list("pk", "neighborhood_id")[:homes])
    given = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with transaction.atomic():
        integration = Integration.objects.create(name="压测厂商平台", vendor=VENDOR, secret=SECRET)
        HomeConsent.objects.bulk_create(
            [HomeConsent(beneficiary_id=b, given_by="family", given_by_name="家属", method="paper", given_at=given) for b, _ in elders],
            batch_size=BATCH,
        )
        devices = []
        for n, (b, nb) in enumerate(elders, start=1):
            for kind in (Device.Kind.INFRARED, Device.Kind.DOOR):
                devices.append(Device(kind=kind, vendor=VENDOR, vendor_device_id=home_device_id(n, kind), region_id=nb, home_id=b))
        # Sheds in the neighborhoods with the most elders, spread round robin.
        busiest = list(
            Region.objects.filter(level=Region.Level.NEIGHBORHOOD).annotate(n=Count("beneficiaries"))
            .order_by("-n", "pk").values_list("pk", flat=True)
        )
        shed_count = (sheds + SHED_SENSORS_PER_SHED - 1) // SHED_SENSORS_PER_SHED
        places = Place.objects.bulk_create(
            [Place(name=f"{i // len(busiest) + 1}号非机动车棚", kind=Place.Kind.SHED, region_id=busiest[i % len(busiest)])
             for i in range(shed_count)],
            batch_size=BATCH,
        )
        for n in range(sheds):
            place = places[n // SHED_SENSORS_PER_SHED]
            devices.append(Device(kind=Device.Kind.SMOKE, vendor=VENDOR, vendor_device_id=shed_device_id(n + 1),
                                  region_id=place.region_id, place=place))
        Device.objects.bulk_create(devices, batch_size=BATCH)
    elapsed = time.monotonic() - started
    out(f"  {len(elders)} homes × 2 sensors + {sheds} shed sensors in {shed_count} sheds: {len(devices)} devices in {elapsed:.1f}s")
    return {"integration": integration.pk, "present": False, "devices": len(devices), "seconds": round(elapsed, 1)}


def prepare_alarm_push() -> int:
    """For the alarm → push figure: every shed's neighborhood gets its 居委 unit (as the alarm rule
    would make it) with one member who has a WeChat openid and unused consents for the
    `case_assigned` template, so each alarm case is pushed through the outbox to the stand-in.
    Returns the member's id; idempotent."""
    from cases.units import committee_unit
    from notifications.models import SubscribeConsent, SubscribeTemplate
    from residents.models import User

    SubscribeTemplate.objects.get_or_create(kind="case_assigned", defaults={
        "name": "新诉求待办提醒", "template_id": PUSH_TEMPLATE,
        "fields": {"thing1": "body", "thing2": "title", "time3": "data.due_at"},
    })
    member, _ = User.objects.get_or_create(username="bench-alarm-officer", defaults={"nickname": "值班员", "openid": PUSH_OPENID})
    SubscribeConsent.objects.update_or_create(user=member, template_id=PUSH_TEMPLATE, defaults={"remaining": 1_000_000})
    regions = Region.objects.filter(pk__in=Place.objects.filter(name__endswith="非机动车棚").values("region_id"))
    with transaction.atomic():
        for region in regions:
            committee_unit(region).members.add(member)
    # A previous run's probe alarms are still open: close them, so every probe alarm opens a case.
    from sensors.actions.alarms import do_close_sensor_case

    for case_id in SensorCase.objects.filter(device__vendor=VENDOR, is_open=True).values_list("case_id", flat=True):
        do_close_sensor_case(case_id, actor=member, false_alarm=False, answer="压测复位")
    return member.pk


def alarm_push_latencies(prefix: str) -> list[float]:
    """Seconds from each probe alarm stored (its event's received_at) to WeChat's answer to the
    push of its case (the outbox row's finished_at, status sent); unsent ones are left out and
    counted by the caller."""
    return [stages["pushed"] for stages in alarm_push_stages(prefix)]


def alarm_push_stages(prefix: str) -> list[dict[str, float]]:
    """Where each probe alarm's push time went, in seconds from its event stored (received_at):
    `case` its case row written, `outbox` the outbox row written (both inside the ingest
    transaction), `task` the delivery task enqueued (after commit), `started` a worker took the
    task, `attempt` the send began, `pushed` WeChat's answer recorded."""
    from django_tasks_db.models import DBTaskResult

    from notifications.models import OutboxMessage

    out = []
    for event in SensorEvent.objects.filter(vendor_event_id__startswith=prefix, type="alarm").select_related("device"):
        alert = SensorCase.objects.filter(device=event.device, created_at__gte=event.received_at).order_by("pk").first()
        if alert is None:
            continue
        sent = OutboxMessage.objects.filter(
            event_key__startswith=f"case:{alert.case_id}:assigned:", status="sent", finished_at__isnull=False
        ).order_by("finished_at").first()
        if sent is None:
            continue
        since = lambda at, t0=event.received_at: None if at is None else round((at - t0).total_seconds(), 3)  # noqa: E731
        task = (DBTaskResult.objects.filter(task_path__endswith="deliver_outbox_messages", args_kwargs__args=[[sent.pk]])
                .order_by("enqueued_at").first())
        out.append({
            "case": since(alert.created_at), "outbox": since(sent.created_at),
            "task": since(task.enqueued_at) if task else None, "started": since(task.started_at) if task else None,
            "attempt": since(sent.attempt_started_at), "pushed": since(sent.finished_at),
        })
    return out
