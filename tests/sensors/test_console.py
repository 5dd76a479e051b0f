"""物联感知 in the console: devices per neighborhood with their state and false-alarm rate, a
device's alarm history, the 设备告警 board where alerts are closed with an outcome; all
region-scoped like the other boards, at a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case
from sensors.models import Device, Place, SensorCase
from tests import factories as f
from tests.sensors.conftest import event, push


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def alarm(world, event_id: str, device: str = "SMK-1") -> SensorCase:
    assert push(world.integration, [event(event_id, device, "alarm")]).json()["accepted"] == [event_id]
    return SensorCase.objects.get(device__vendor_device_id=device, is_open=True)


def states(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'data-device="(\d+)" data-state="(\w+)"', html))


def test_devices_page_shows_each_device_state_battery_and_heartbeat(world):
    now = timezone.now()
    Device.objects.filter(pk=world.door.pk).update(last_heartbeat=now - dt.timedelta(minutes=5), battery=80)
    Device.objects.filter(pk=world.gas.pk).update(last_heartbeat=now - dt.timedelta(minutes=5), battery=9)
    Device.objects.filter(pk=world.smoke.pk).update(last_heartbeat=now - dt.timedelta(days=3), battery=70)
    html = login(world.staff).get("/console/sensors/").content.decode()
    assert states(html) == {str(world.door.pk): "online", str(world.gas.pk): "low_battery", str(world.smoke.pk): "silent"}
    assert "老人住所" in html and "80%" in html
    assert world.elder.name not in html  # no elder's name on the list
    alarm(world, "a1")
    client = login(world.staff)
    assert states(client.get("/console/sensors/").content.decode())[str(world.smoke.pk)] == "alarm"
    filtered = client.get("/console/sensors/?state=low_battery").content.decode()
    assert list(states(filtered)) == [str(world.gas.pk)]
    assert 'data-count-state="alarm">1<' in filtered  # the cards count the whole list, not the filter


def test_close_from_the_console_feeds_history_and_the_false_alarm_rate(world):
    first = alarm(world, "a1")
    client = login(world.staff)
    response = client.post(f"/console/sensors/alerts/{first.case_id}/close/", {"outcome": "false_alarm", "answer": "烤鱼油烟"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.is_open, first.outcome, first.case.status) == (False, "false_alarm", Case.Status.RESOLVED)
    second = alarm(world, "a2")
    client.post(f"/console/sensors/alerts/{second.case_id}/close/", {"outcome": "real"})
    html = client.get("/console/sensors/").content.decode()
    assert 'data-false-alarm-pct="50"' in html
    detail = client.get(f"/console/sensors/devices/{world.smoke.pk}/").content.decode()
    assert "误报" in detail and "确有警情" in detail and f'data-case="{first.case_id}"' in detail
    # A closed alert cannot be closed twice; no outcome is no close.
    third = alarm(world, "a3")
    client.post(f"/console/sensors/alerts/{third.case_id}/close/", {"outcome": ""})
    assert SensorCase.objects.get(pk=third.pk).is_open
    client.post(f"/console/sensors/alerts/{first.case_id}/close/", {"outcome": "real"})
    assert SensorCase.objects.get(pk=first.pk).outcome == "false_alarm"


def test_alerts_board_shows_sensor_cases_to_the_unit_with_a_clear_label(world):
    open_alert = alarm(world, "a1")
    for who in (world.member, world.staff):  # the committee unit's member (not staff) and staff
        html = login(who).get("/console/sensors/alerts/").content.decode()
        assert f'data-case="{open_alert.case_id}"' in html and "设备告警" in html and "烟感报警：3号非机动车棚" in html
    assert "设备告警" in login(world.member).get("/console/matters/").content.decode()  # in the console nav
    login(world.member).post(f"/console/sensors/alerts/{open_alert.case_id}/close/", {"outcome": "real"})
    assert not SensorCase.objects.get(pk=open_alert.pk).is_open
    closed = login(world.member).get("/console/sensors/alerts/?show=closed").content.decode()
    assert f'data-case="{open_alert.case_id}"' in closed


def test_everything_is_scoped_to_the_staff_neighborhoods(world, other_neighborhood):
    alert = alarm(world, "a1")
    outsider = f.staff(other_neighborhood)
    client = login(outsider)
    assert str(world.smoke.pk) not in states(client.get("/console/sensors/").content.decode())
    assert client.get(f"/console/sensors/devices/{world.smoke.pk}/").status_code == 404
    assert f'data-case="{alert.case_id}"' not in client.get("/console/sensors/alerts/").content.decode()
    assert client.post(f"/console/sensors/alerts/{alert.case_id}/close/", {"outcome": "real"}).status_code == 404
    assert SensorCase.objects.get(pk=alert.pk).is_open
    # A neighborhood not theirs given as a filter is ignored, not obeyed.
    html = client.get(f"/console/sensors/?neighborhood={world.neighborhood.pk}").content.decode()
    assert str(world.smoke.pk) not in states(html)
    resident = f.resident(world.neighborhood)
    assert login(resident).get("/console/sensors/").status_code == 403


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_sensor_pages_cost_the_same_for_few_and_many_devices(world):
    client = login(world.staff)
    alarm(world, "a1")
    urls = ["/console/sensors/", "/console/sensors/alerts/", f"/console/sensors/devices/{world.smoke.pk}/"]
    few = [_queries(client, url) for url in urls]
    shed = Place.objects.create(name="5号非机动车棚", kind=Place.Kind.SHED, region=world.neighborhood)
    for i in range(20):
        Device.objects.create(kind=Device.Kind.SMOKE, vendor="acme", vendor_device_id=f"MORE-{i}", region=world.neighborhood, place=shed)
    for i in range(6):
        alarm(world, f"m{i}", f"MORE-{i}")
    world.smoke.refresh_from_db()
    alert = SensorCase.objects.get(device=world.smoke, is_open=True)
    client.post(f"/console/sensors/alerts/{alert.case_id}/close/", {"outcome": "real"})
    alarm(world, "a2")
    assert [_queries(client, url) for url in urls] == few


def test_staff_import_devices_from_the_console_all_or_nothing_with_errors_in_chinese(world, other_neighborhood):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(world.staff)
    page = client.get("/console/sensors/import/")
    assert page.status_code == 200 and "导入设备" in page.content.decode()
    header = "vendor,device_id,kind,region_code,place,place_kind,beneficiary_id\n"
    bad = header + "acme,NEW-1,烟感,310113001001,6号车棚,,\nacme,NEW-2,雷达,310113001001,6号车棚,,\n" + \
        f"acme,NEW-3,烟感,{other_neighborhood.code},6号车棚,,\n"
    response = client.post("/console/sensors/import/", {"file": SimpleUploadedFile("d.csv", bad.encode(), "text/csv")})
    html = response.content.decode()
    assert response.status_code == 422
    assert "未导入任何设备" in html and "未知设备类型「雷达」" in html and "无权导入该居委/村的设备" in html
    assert not Device.objects.filter(vendor_device_id__startswith="NEW-").exists()
    good = header + "acme,NEW-1,烟感,310113001001,6号车棚,非机动车棚,\n"
    response = client.post("/console/sensors/import/", {"file": SimpleUploadedFile("d.csv", good.encode(), "text/csv")})
    assert response.status_code == 302 and response["Location"] == "/console/sensors/"
    assert Device.objects.get(vendor_device_id="NEW-1").region == world.neighborhood
    assert "已导入 1 台设备" in client.get("/console/sensors/").content.decode()
    not_utf8 = client.post("/console/sensors/import/", {"file": SimpleUploadedFile("d.csv", "列".encode("gbk"), "text/csv")})
    assert not_utf8.status_code == 422 and "CSV 须为 UTF-8 编码" in not_utf8.content.decode()
