"""The alarm rule: a smoke/gas/panic alarm opens one urgent case on the engine with minute
deadlines, readings on its timeline and the unit told at once; flapping adds readings, not
cases; staff close it with an outcome that feeds the false-alarm rate."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from cases.models import Case, CaseEvent, ResponsibleUnit
from notifications.models import Notification
from sensors.models import Device, SensorCase
from tests.conftest import Api, assert_error
from tests.sensors.conftest import event, push


def _alarm(world, event_id, device="SMK-1", at="2026-03-01T23:10:00+08:00", value=None):
    response = push(world.integration, [event(event_id, device, "alarm", at=at, value=value)])
    assert response.status_code == 200, response.content
    return response.json()


def test_a_smoke_alarm_opens_one_urgent_case_for_the_committee_with_the_reading_and_a_notice(world):
    before = timezone.now()
    _alarm(world, "a1", value={"smoke": 0.31})
    alert = SensorCase.objects.get(device=world.smoke)
    case = alert.case
    assert (case.kind, case.status, case.unit, case.neighborhood, case.reporter) == (
        "sensor_alert", Case.Status.SUBMITTED, world.committee, world.neighborhood, None)
    assert (case.accept_minutes, case.resolve_minutes) == (5, 60)
    assert dt.timedelta(minutes=4) < case.due_at - before <= dt.timedelta(minutes=5, seconds=30)
    timeline = list(case.events.order_by("id").values_list("kind", "reason"))
    assert timeline[0][0] == CaseEvent.Kind.SUBMITTED
    assert timeline[1][0] == CaseEvent.Kind.READING and "烟感报警" in timeline[1][1] and "a1" in timeline[1][1]
    notice = Notification.objects.get(recipient=world.member, kind="case_assigned")
    assert notice.body == "烟感报警：3号非机动车棚" and notice.data["case_id"] == case.pk
    world.smoke.refresh_from_db()
    assert world.smoke.state == Device.State.ALARM


def test_a_flapping_sensor_keeps_one_case_and_adds_readings(world):
    _alarm(world, "a1")
    _alarm(world, "a2", at="2026-03-01T23:11:00+08:00")
    push(world.integration, [event("a3", "SMK-1", "alarm"), event("a4", "SMK-1", "alarm", at="2026-03-01T23:12:00+08:00")])
    _alarm(world, "a1")  # a resent one changes nothing
    assert Case.objects.filter(kind="sensor_alert").count() == 1
    alert = SensorCase.objects.get()
    assert alert.alarm_count == 4
    assert alert.case.events.filter(kind=CaseEvent.Kind.READING).count() == 4
    assert Notification.objects.filter(recipient=world.member, kind="case_assigned").count() == 1


def test_each_device_and_only_alarm_kinds_open_cases(world):
    _alarm(world, "a1")
    _alarm(world, "g1", device="GAS-1")
    _alarm(world, "d1", device="DOOR-1")  # a door sensor's "alarm" is a reading for later rules, not a fire
    assert sorted(SensorCase.objects.values_list("device__vendor_device_id", flat=True)) == ["GAS-1", "SMK-1"]
    for type_ in ("reading", "heartbeat"):
        push(world.integration, [event(f"x-{type_}", "GAS-1", type_)])
    assert Case.objects.count() == 2


def test_a_missing_committee_unit_is_made_under_the_street_grid(world, neighborhood):
    world.committee.is_active = False
    world.committee.save()
    _alarm(world, "a1")
    unit = SensorCase.objects.get().case.unit
    assert (unit.kind, unit.region, unit.parent, unit.is_active) == (ResponsibleUnit.Kind.COMMITTEE, neighborhood, world.grid, True)
    _alarm(world, "g1", device="GAS-1")
    assert ResponsibleUnit.objects.filter(region=neighborhood, kind="committee", is_active=True).count() == 1


def test_an_unanswered_alarm_escalates_in_minutes(world):
    _alarm(world, "a1")
    case = SensorCase.objects.get().case
    assert do_escalate_overdue_cases(now=timezone.now() + dt.timedelta(minutes=4)) == 0
    assert do_escalate_overdue_cases(now=timezone.now() + dt.timedelta(minutes=6)) == 1
    case.refresh_from_db()
    assert case.supervising_unit == world.grid
    assert Notification.objects.filter(recipient=world.grid_member, kind="case_overdue").exists()


def test_staff_close_as_false_alarm_then_a_new_alarm_is_a_new_case(world):
    _alarm(world, "a1")
    alert = SensorCase.objects.get()
    response = Api(world.staff).post(f"/api/v1/sensors/cases/{alert.case_id}/close", {"false_alarm": True})
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "false_alarm"
    alert.refresh_from_db()
    alert.case.refresh_from_db()
    assert (alert.is_open, alert.outcome, alert.case.status) == (False, "false_alarm", Case.Status.RESOLVED)
    assert alert.case.answer == "经核实为误报"
    world.smoke.refresh_from_db()
    assert world.smoke.state == Device.State.NORMAL
    assert_error(Api(world.staff).post(f"/api/v1/sensors/cases/{alert.case_id}/close", {"false_alarm": False}), 409, "sensor_case_closed")
    _alarm(world, "a2")
    assert SensorCase.objects.filter(device=world.smoke).count() == 2
    assert SensorCase.objects.filter(device=world.smoke, is_open=True).count() == 1


def test_only_staff_or_the_unit_may_close_and_must_say_whether_false(world, other_neighborhood):
    from tests import factories as f

    _alarm(world, "a1")
    case_id = SensorCase.objects.get().case_id
    assert_error(Api(world.staff).post(f"/api/v1/sensors/cases/{case_id}/close", {}), 400, "false_alarm_required")
    outsider = f.staff(other_neighborhood)
    assert_error(Api(outsider).post(f"/api/v1/sensors/cases/{case_id}/close", {"false_alarm": True}), 403)
    assert Api(world.member).post(f"/api/v1/sensors/cases/{case_id}/close", {"false_alarm": False, "answer": "已灭火"}).status_code == 200
    assert SensorCase.objects.get().outcome == "real"


def test_false_alarm_rate_per_device(world, other_neighborhood):
    staff = Api(world.staff)
    for i, false in enumerate([True, True, False, True]):
        _alarm(world, f"s{i}")
        staff.post(f"/api/v1/sensors/cases/{SensorCase.objects.get(is_open=True).case_id}/close", {"false_alarm": false})
    _alarm(world, "g1", device="GAS-1")
    staff.post(f"/api/v1/sensors/cases/{SensorCase.objects.get(is_open=True).case_id}/close", {"false_alarm": False})
    _alarm(world, "g2", device="GAS-1")  # still open: not counted
    rows = staff.get("/api/v1/sensors/false-alarm-rates").json()["devices"]
    assert [(r["vendor_device_id"], r["closed"], r["false_alarms"], r["rate"]) for r in rows] == [
        ("SMK-1", 4, 3, 0.75), ("GAS-1", 1, 0, 0.0)]
    from tests import factories as f

    assert Api(f.staff(other_neighborhood)).get("/api/v1/sensors/false-alarm-rates").json()["devices"] == []
    assert_error(Api(f.staff(other_neighborhood)).get(f"/api/v1/sensors/false-alarm-rates?neighborhood={world.neighborhood.pk}"), 404)


def test_a_transferred_alarm_keeps_minute_deadlines(world):
    from cases.actions import do_transfer_case

    _alarm(world, "a1")
    case = SensorCase.objects.get().case
    before = timezone.now()
    case = do_transfer_case(case.pk, actor=world.staff, to_unit_id=world.grid.pk, reason="网格员就近处置")
    assert case.unit == world.grid
    assert dt.timedelta(minutes=4) < case.accept_due_at - before <= dt.timedelta(minutes=5, seconds=30)
