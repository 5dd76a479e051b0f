"""The periodic rules: a lone elder with no motion or door activity for N daytime hours (quiet
hours not counted, a per-home threshold) gets one 上门探视 case; a silent device and a low
battery each get one maintenance case; none floods the board when the job runs again."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from cases.models import Case, CaseEvent
from sensors.actions.alarms import do_close_sensor_case
from sensors.actions.rules import QuietHours, daytime_hours, do_check_inactivity, do_check_maintenance
from sensors.models import Device, HomeConsent, SensorCase
from sensors.tasks import check_device_maintenance, check_inactive_homes
from tests.sensors.conftest import event, push

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SH)


def _door(world, event_id: str, when: dt.datetime) -> None:
    response = push(world.integration, [event(event_id, "DOOR-1", "reading", at=when.isoformat(), value={"open": True})])
    assert response.json()["accepted"] == [event_id], response.content


def _installed_long_ago(world) -> None:
    Device.objects.update(installed_at=at(1, 0) - dt.timedelta(days=30))


def test_daytime_hours_leave_out_the_quiet_hours():
    quiet = QuietHours.parse("22:00-07:00")
    assert daytime_hours(at(1, 8), at(1, 16), quiet) == 8
    assert daytime_hours(at(1, 20), at(2, 9), quiet) == 4  # 20-22 and 07-09
    assert daytime_hours(at(1, 23), at(2, 6), quiet) == 0
    assert daytime_hours(at(1, 8), at(3, 8), quiet) == 30  # two days of 15 daytime hours
    assert daytime_hours(at(1, 9), at(1, 17), QuietHours.parse("12:00-13:00")) == 7


def test_no_activity_for_the_daytime_hours_opens_one_visit_case(world, settings):
    settings.SENSOR_INACTIVITY_HOURS = 8
    _installed_long_ago(world)
    _door(world, "d1", at(1, 8))
    assert do_check_inactivity(now=at(1, 15, 30)) == 0  # 7.5 h
    assert do_check_inactivity(now=at(1, 16, 30)) == 1
    assert do_check_inactivity(now=at(1, 18)) == 0  # still open: no second case
    alert = SensorCase.objects.get(rule=SensorCase.Rule.INACTIVITY)
    assert alert.device == world.door
    case = alert.case
    assert (case.kind, case.unit, case.status) == ("sensor_alert", world.committee, Case.Status.SUBMITTED)
    assert str(case.sensor_case.device.home_id) and "张" not in case.sensor_case.device.where
    readings = list(CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.READING).values_list("reason", flat=True))
    assert len(readings) == 1 and "无人体/门磁活动" in readings[0]
    from cases import kinds
    assert kinds.of("sensor_alert").label(case) == "上门探视：老人住所长时间无活动"


def test_the_quiet_hours_do_not_count(world, settings):
    settings.SENSOR_INACTIVITY_HOURS = 8
    _installed_long_ago(world)
    _door(world, "d1", at(1, 18))
    # 18:00-22:00 counts (4 h); the night does not; 07:00-10:59 adds under 4 h.
    assert do_check_inactivity(now=at(2, 10, 59)) == 0
    assert do_check_inactivity(now=at(2, 11, 1)) == 1


def test_activity_resets_the_clock_and_a_home_sets_its_own_threshold(world, settings):
    settings.SENSOR_INACTIVITY_HOURS = 8
    _installed_long_ago(world)
    _door(world, "d1", at(1, 8))
    _door(world, "d2", at(1, 12))
    assert do_check_inactivity(now=at(1, 17)) == 0  # 5 h since the last door event
    HomeConsent.objects.filter(beneficiary=world.elder).update(inactivity_hours=4)
    assert do_check_inactivity(now=at(1, 17)) == 1


def test_an_answered_visit_is_not_reopened_for_the_same_silence(world, settings):
    settings.SENSOR_INACTIVITY_HOURS = 8
    _installed_long_ago(world)
    _door(world, "d1", at(1, 8))
    assert do_check_inactivity(now=at(1, 17)) == 1
    alert = SensorCase.objects.get(rule=SensorCase.Rule.INACTIVITY)
    # The clock restarts at the visit case: it was created now (real time), so any check before
    # now + 8 daytime hours opens nothing new even after the case is answered.
    do_close_sensor_case(alert.case_id, actor=world.member, false_alarm=False, answer="已上门，老人安好")
    assert do_check_inactivity(now=timezone.now() + dt.timedelta(minutes=30)) == 0
    assert SensorCase.objects.filter(rule=SensorCase.Rule.INACTIVITY).count() == 1


def test_homes_without_consent_or_without_motion_devices_are_not_watched(world, settings):
    settings.SENSOR_INACTIVITY_HOURS = 1
    _installed_long_ago(world)
    HomeConsent.objects.filter(beneficiary=world.elder).update(withdrawn_at=at(1, 0))
    assert do_check_inactivity(now=at(2, 12)) == 0


def test_a_silent_device_and_a_low_battery_each_open_one_maintenance_case(world, settings):
    settings.SENSOR_HEARTBEAT_TIMEOUT_MINUTES = 360
    settings.SENSOR_BATTERY_LOW_PERCENT = 20
    now = timezone.now()
    Device.objects.filter(pk=world.smoke.pk).update(last_heartbeat=now - dt.timedelta(hours=7), battery=12, battery_at=now)
    Device.objects.filter(pk=world.gas.pk).update(last_heartbeat=now - dt.timedelta(hours=1), battery=80, battery_at=now)
    assert check_device_maintenance.enqueue().return_value == 2
    assert check_device_maintenance.enqueue().return_value == 0  # one open case per device and rule
    rows = {(a.device_id, a.rule) for a in SensorCase.objects.all()}
    assert rows == {(world.smoke.pk, SensorCase.Rule.HEARTBEAT), (world.smoke.pk, SensorCase.Rule.BATTERY)}
    heartbeat = SensorCase.objects.get(rule=SensorCase.Rule.HEARTBEAT).case
    assert heartbeat.unit == world.committee and heartbeat.accept_minutes is None
    from cases import kinds
    assert kinds.of("sensor_alert").label(heartbeat) == "设备离线：烟感（3号非机动车棚）"


def test_a_new_report_after_an_answered_maintenance_case_is_a_new_incident(world, settings):
    settings.SENSOR_BATTERY_LOW_PERCENT = 20
    now = timezone.now()
    Device.objects.filter(pk=world.smoke.pk).update(last_heartbeat=now, battery=12, battery_at=now - dt.timedelta(minutes=5))
    assert do_check_maintenance() == 1
    alert = SensorCase.objects.get(rule=SensorCase.Rule.BATTERY)
    do_close_sensor_case(alert.case_id, actor=world.member, false_alarm=False, answer="已换电池")
    assert do_check_maintenance() == 0  # no battery report since: the same incident
    Device.objects.filter(pk=world.smoke.pk).update(battery=9, battery_at=timezone.now() + dt.timedelta(seconds=1))
    assert do_check_maintenance() == 1
    assert SensorCase.objects.filter(rule=SensorCase.Rule.BATTERY, is_open=True).count() == 1


def test_retired_and_freshly_installed_devices_are_left_alone(world, settings):
    world.gas.state = Device.State.RETIRED
    world.gas.battery = 5
    world.gas.save()
    assert do_check_maintenance() == 0  # the others were installed just now and never heard from
    assert check_inactive_homes.enqueue().return_value == 0


def test_a_device_declares_its_own_heartbeat_timeout_and_the_console_agrees(world, settings):
    """A device silent 45 minutes is offline if it declared 30 (not with the default 360); one
    silent 7 hours is not if it declared 600. The console's 离线 reads the same rule."""
    from sensors import queries

    settings.SENSOR_HEARTBEAT_TIMEOUT_MINUTES = 360
    now = timezone.now()
    Device.objects.filter(pk=world.smoke.pk).update(last_heartbeat=now - dt.timedelta(minutes=45), heartbeat_timeout_minutes=30)
    Device.objects.filter(pk=world.gas.pk).update(last_heartbeat=now - dt.timedelta(hours=7), heartbeat_timeout_minutes=600)
    Device.objects.filter(pk=world.door.pk).update(last_heartbeat=now - dt.timedelta(hours=5))
    assert do_check_maintenance(now=now) == 1
    alert = SensorCase.objects.get(rule=SensorCase.Rule.HEARTBEAT)
    assert alert.device == world.smoke
    assert "超过 30 分钟无心跳" in CaseEvent.objects.get(case=alert.case, kind=CaseEvent.Kind.READING).reason
    silent = set(Device.objects.filter(queries.display_condition(queries.Display.SILENT, now)).values_list("pk", flat=True))
    assert silent == {world.smoke.pk}
    states = {d.pk: queries.display_state(d, now) for d in Device.objects.all()}
    assert states == {world.smoke.pk: "silent", world.gas.pk: "online", world.door.pk: "online"}
    # Two hours on: the default device (7 h) is past 360 minutes, the 600-minute one (9 h) is not.
    later = now + dt.timedelta(hours=2)
    assert {d.pk for d in Device.objects.filter(queries.display_condition(queries.Display.SILENT, later))} == {
        world.smoke.pk, world.door.pk}
