"""物联告警 on the 数据看板: alarms → cases → closed (in time) and 误报 per neighborhood and per
street, read from the snapshots (console.models.SensorDaySnapshot) and held equal to the live
reference (tests/console/reference.py `sensor_alarms`) on generated rows."""

from __future__ import annotations

import datetime as dt
import random

from django.test import Client
from django.utils import timezone

from cases.models import Case
from console.figures import Figures
from console.queries import make_period
from console.tasks import refresh_dashboard_snapshots
from residents.models import Role
from sensors.actions.alarms import do_close_sensor_case
from sensors.models import Device, Place, SensorCase
from tests import factories as f
from tests.console import reference
from tests.sensors.conftest import event, push


def table(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    found = next(t for t in response.context["tables"] if t.key == "sensor_alarms")
    return {row[0]: tuple(row[1:]) for row in found.rows}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_alarms_cases_closed_in_time_and_false_alarm_rates_per_neighborhood_and_street(world):
    # Two alarms from the smoke sensor (one alert: a flapping sensor adds alarms, not cases), closed as 误报;
    push(world.integration, [event("a1", "SMK-1", "alarm"), event("a2", "SMK-1", "alarm", at="2026-03-01T08:01:00+08:00")])
    smoke = SensorCase.objects.get(device=world.smoke)
    do_close_sensor_case(smoke.case_id, actor=world.staff, false_alarm=True)
    # a gas alarm closed as real but after its deadline; a second smoke alert still open.
    push(world.integration, [event("g1", "GAS-1", "alarm")])
    gas = SensorCase.objects.get(device=world.gas)
    Case.objects.filter(pk=gas.case_id).update(resolve_due_at=timezone.now() - dt.timedelta(hours=2),
                                               accept_due_at=timezone.now() - dt.timedelta(hours=3))
    do_close_sensor_case(gas.case_id, actor=world.staff, false_alarm=False)
    push(world.integration, [event("a3", "SMK-1", "alarm")])
    refresh_dashboard_snapshots.call()
    name = world.neighborhood.name
    staff_view = table(login(world.staff), f"/console/dashboard/?region={world.neighborhood.id}")
    assert staff_view == {name: (4, 3, 2, 1, "50.0%", 1, "50.0%")}
    officer = f.officer(world.street)
    assert table(login(officer), f"/console/dashboard/?region={world.street.id}") == staff_view
    admin = f.UserFactory()
    f.RoleFactory(user=admin, region=world.street.parent, kind=Role.Kind.DISTRICT_ADMIN)
    district = table(login(admin), f"/console/dashboard/?region={world.street.parent_id}")
    assert district == {world.street.name: (4, 3, 2, 1, "50.0%", 1, "50.0%")}  # the street's row sums its neighborhoods
    # Another street's officer sees none of it.
    other = f.officer(f.StreetFactory(parent=world.street.parent))
    assert login(other).get(f"/console/dashboard/?region={world.street.id}").status_code == 404


def test_snapshot_figures_equal_the_live_reference_on_generated_rows(world, other_neighborhood):
    r = random.Random(18)
    second = f.NeighborhoodFactory(parent=world.street)
    devices = []
    for i, region in enumerate([world.neighborhood, second, other_neighborhood] * 4):
        shed = Place.objects.create(name=f"{i}号车棚", kind=Place.Kind.SHED, region=region)
        devices.append(Device.objects.create(kind=r.choice(["smoke", "gas", "panic"]), vendor="acme",
                                             vendor_device_id=f"GEN-{i}", region=region, place=shed))
    staff = {region.pk: f.staff(region) for region in (world.neighborhood, second, other_neighborhood)}
    n = 0
    for _round in range(4):
        for device in r.sample(devices, 8):
            n += 1
            burst = [event(f"e{n}-{k}", device.vendor_device_id, "alarm", at=f"2026-03-01T0{k}:00:00+08:00")
                     for k in range(r.randint(1, 3))]
            assert len(push(world.integration, burst).json()["accepted"]) == len(burst)
            alert = SensorCase.objects.get(device=device, is_open=True)
            roll = r.random()
            if roll < 0.2:
                continue  # left open
            if roll < 0.4:
                Case.objects.filter(pk=alert.case_id).update(resolve_due_at=timezone.now() - dt.timedelta(minutes=1),
                                                             accept_due_at=timezone.now() - dt.timedelta(minutes=2))
            do_close_sensor_case(alert.case_id, actor=staff[device.region_id], false_alarm=r.random() < 0.5)
        # Older cohorts: some alerts opened 20 days ago, outside a 2-week period.
        SensorCase.objects.filter(pk__in=r.sample(list(SensorCase.objects.values_list("pk", flat=True)), 3)).update(
            created_at=timezone.now() - dt.timedelta(days=20)
        )
    from console.snapshots import refresh_snapshots

    today = timezone.localdate()
    refresh_snapshots(today - dt.timedelta(days=30), today)
    ids = [world.neighborhood.pk, second.pk, other_neighborhood.pk]
    for days in (14, 30):
        period = make_period(today - dt.timedelta(days=days - 1), today)
        expected = reference.sensor_alarms(ids, period)
        assert Figures(ids, period).sensor_alarms() == expected
        assert sum(row.cases for row in expected) > 0
    whole = make_period(today - dt.timedelta(days=29), today)
    assert sum(row.cases for row in reference.sensor_alarms(ids, whole)) == SensorCase.objects.count()
