"""物联感知's periodic jobs (registered in sensors.apps with core.scheduler): the inactivity rule
and the maintenance rules (sensors.actions.rules). Each is safe to run twice at once: the
device row is locked while its open case is looked up."""

from __future__ import annotations

from django.tasks import task

from sensors.actions.rules import do_check_inactivity, do_check_maintenance


@task()
def check_inactive_homes() -> int:
    return do_check_inactivity()


@task()
def check_device_maintenance() -> int:
    return do_check_maintenance()
