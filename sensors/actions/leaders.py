"""Telling the 楼组长 (issue 18: an alarm goes "to the committee and the 楼组长, pushed at once").

When a sensor case opens for a device placed in a building group (`Device.building_group`: a
lone elder's home, or a place such as a stairwell) — an alarm, or a 上门探视 for an elder who
stopped moving — the building group's leaders (residents.roles.building_leader_ids) get a
`sensor_alert_leader` notification besides the committee unit's `case_assigned`: an inbox entry,
its `notification.created` frame on their `user.<id>` stream, and, where they accepted the template, one
subscribe message (one consent, one message). An alarm's is urgent like the unit's push. The
maintenance cases (a silent device, a low battery) are the committee's alone.

Called inside the rule's transaction, after the alert row exists; what it says names no elder
and no address ("老人住所"), as every sensor title.
"""

from __future__ import annotations

from django.utils import timezone

from notifications.actions import do_notify
from residents.models import Region
from residents.roles import building_leader_ids
from sensors.models import Device, SensorCase

KIND = "sensor_alert_leader"
TOLD_RULES = frozenset({SensorCase.Rule.ALARM, SensorCase.Rule.INACTIVITY})


def tell_building_leaders(alert: SensorCase, device: Device, *, title: str) -> int:
    """Notify the leaders of the device's building group of a newly opened alert; how many."""
    if alert.rule not in TOLD_RULES or not device.building_group_id:
        return 0
    leaders = building_leader_ids(device.building_group_id)
    if not leaders:
        return 0
    group = Region.objects.filter(pk=device.building_group_id).values_list("name", flat=True).first() or ""
    heading = "楼组紧急告警" if alert.rule == SensorCase.Rule.ALARM else "楼组上门探视提醒"
    created = do_notify(
        recipients=leaders, kind=KIND, title=heading, body=f"{group}：{title}", page=f"pages/sensors/alert?case={alert.case_id}",
        data={"case_id": alert.case_id, "rule": alert.rule, "label": title, "building_group": group,
              "at": timezone.localtime(alert.created_at or timezone.now()).isoformat()},
        event_key=f"sensor:{alert.pk}:leaders", fresh=True, urgent=alert.rule == SensorCase.Rule.ALARM,
    )
    return len(created)
