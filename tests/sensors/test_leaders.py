"""The 楼组长 is told (issue 18): an alarm or a 上门探视 case opened for a device in a building
group reaches that group's leaders — inbox, a `notification.created` frame on their stream, one subscribe message
under their consent — and nobody else's; a maintenance case or a flapping alarm does not. An
alarm's pushes are enqueued at the top task priority, a routine case's are not."""

from __future__ import annotations

import datetime as dt

from django.tasks.base import DEFAULT_TASK_PRIORITY, TASK_MAX_PRIORITY
from django.utils import timezone

from notifications.models import Event, Notification, OutboxMessage, SubscribeConsent
from residents.models import Membership, Role
from sensors.actions.rules import do_check_inactivity, do_check_maintenance
from sensors.models import Device, SensorCase
from tests import factories as f
from tests.sensors.conftest import event, push
from tests.sensors.test_rules import _door, _installed_long_ago, at

KIND = "sensor_alert_leader"


def _leader(neighborhood, group, **kwargs):
    user = f.resident(neighborhood, **kwargs)
    Membership.objects.filter(user=user).update(building_group=group)
    f.RoleFactory(user=user, region=neighborhood, kind=Role.Kind.BUILDING_LEADER)
    return user


def _groups(world):
    one = f.BuildingGroupFactory(parent=world.neighborhood, name="1号楼组")
    two = f.BuildingGroupFactory(parent=world.neighborhood, name="2号楼组")
    leader, other_leader = _leader(world.neighborhood, one, nickname="周楼组长"), _leader(world.neighborhood, two)
    plain = f.resident(world.neighborhood)  # lives in 1号楼组 but holds no role
    Membership.objects.filter(user=plain).update(building_group=one)
    return one, leader, other_leader, plain


def test_an_alarm_in_a_building_group_tells_its_leaders_and_nobody_else(world):
    group, leader, other_leader, plain = _groups(world)
    Device.objects.filter(pk=world.smoke.pk).update(building_group=group)
    assert push(world.integration, [event("a1", "SMK-1", "alarm")]).status_code == 200
    alert = SensorCase.objects.get(device=world.smoke)
    told = Notification.objects.filter(kind=KIND)
    assert list(told.values_list("recipient_id", flat=True)) == [leader.pk]
    notice = told.get()
    assert (notice.title, notice.body, notice.page) == (
        "楼组紧急告警", "1号楼组：烟感报警：3号非机动车棚", f"pages/sensors/alert?case={alert.case_id}")
    assert notice.data["label"] == "烟感报警：3号非机动车棚" and notice.data["building_group"] == "1号楼组"
    # The realtime frame on the leader's own stream.
    assert Event.objects.filter(stream=f"user.{leader.pk}", type="notification.created", payload__kind=KIND).exists()
    assert not Notification.objects.filter(recipient__in=[other_leader, plain]).exists()
    # A flapping sensor adds readings to the open case: the leader is not told again.
    assert push(world.integration, [event("a2", "SMK-1", "alarm")]).status_code == 200
    assert told.count() == 1


def test_a_device_outside_any_building_group_tells_only_the_committee(world):
    _groups(world)
    assert push(world.integration, [event("a1", "SMK-1", "alarm")]).status_code == 200
    assert SensorCase.objects.filter(device=world.smoke).exists()
    assert not Notification.objects.filter(kind=KIND).exists()


def test_a_visit_case_tells_the_leader_and_a_maintenance_case_does_not(world, settings):
    group, leader, _other, _plain = _groups(world)
    Device.objects.filter(pk=world.door.pk).update(building_group=group)
    settings.SENSOR_INACTIVITY_HOURS = 8
    _installed_long_ago(world)
    _door(world, "d1", at(1, 8))
    assert do_check_inactivity(now=at(1, 16, 30)) == 1
    notice = Notification.objects.get(kind=KIND)
    assert (notice.recipient_id, notice.title, notice.body) == (leader.pk, "楼组上门探视提醒", "1号楼组：上门探视：老人住所长时间无活动")
    # A low battery on the same home's device (and the shed's silent devices): the committee's job alone.
    Device.objects.filter(pk=world.door.pk).update(battery=5, battery_at=timezone.now(), last_heartbeat=timezone.now())
    assert do_check_maintenance() == 3
    assert SensorCase.objects.filter(device=world.door, rule=SensorCase.Rule.BATTERY).exists()
    assert Notification.objects.filter(kind=KIND).count() == 1


def test_the_leaders_message_is_sent_only_with_a_consent_left(world):
    group, leader, _other, _plain = _groups(world)
    from notifications.models import SubscribeTemplate

    SubscribeTemplate.objects.create(kind=KIND, name="楼组告警提醒", template_id="tpl-leader",
                                     fields={"thing1": "data.label", "thing2": "data.building_group", "time3": "data.at"})
    SubscribeConsent.objects.create(user=leader, template_id="tpl-leader", remaining=1)
    Device.objects.filter(pk__in=[world.smoke.pk, world.gas.pk]).update(building_group=group)
    assert push(world.integration, [event("a1", "SMK-1", "alarm"), event("g1", "GAS-1", "alarm")]).status_code == 200
    statuses = sorted(OutboxMessage.objects.filter(recipient=leader, kind=KIND).values_list("status", flat=True))
    # Two alarms, one consent: one message goes, the other is skipped (one consent, one message).
    assert statuses == [OutboxMessage.Status.PENDING, OutboxMessage.Status.SKIPPED_NO_CONSENT]
    assert SubscribeConsent.objects.get(user=leader, template_id="tpl-leader").remaining == 0


def test_an_alarms_pushes_go_at_the_top_priority_a_routine_cases_do_not(world, settings, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    from notifications.models import SubscribeTemplate

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "wechat"]}}
    SubscribeTemplate.objects.create(kind="case_assigned", name="新诉求待办提醒", template_id="tpl-case",
                                     fields={"thing1": "body", "thing2": "title", "time3": "data.due_at"})
    SubscribeConsent.objects.create(user=world.member, template_id="tpl-case", remaining=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(world.integration, [event("a1", "SMK-1", "alarm")]).status_code == 200
    sends = DBTaskResult.objects.filter(task_path__endswith="deliver_outbox_messages")
    assert list(sends.values_list("priority", flat=True)) == [TASK_MAX_PRIORITY]
    # A maintenance case (hours, not minutes) is routine.
    Device.objects.filter(pk=world.gas.pk).update(battery=5, battery_at=timezone.now(), last_heartbeat=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert do_check_maintenance(now=timezone.now() + dt.timedelta(seconds=1)) >= 1
    assert sorted(sends.values_list("priority", flat=True)) == [DEFAULT_TASK_PRIORITY, TASK_MAX_PRIORITY]
