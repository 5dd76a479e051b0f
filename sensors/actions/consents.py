"""An elder's (or their family's) consent to sensors in the home (docs/sensors.md, Privacy):
recorded by staff of the elder's neighborhood before any device is bound to the home; withdrawn,
it unbinds and retires the home's devices and their raw events and daily aggregates go."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from residents.access import is_staff_for
from residents.models import Beneficiary, User
from sensors.models import Device, DeviceDayAggregate, HomeConsent, SensorEvent


def do_record_home_consent(
    beneficiary_id: int, *, actor: User, given_by: str, given_by_name: str, method: str, given_at: dt.datetime | None = None,
) -> HomeConsent:
    if given_by not in HomeConsent.GivenBy.values or method not in HomeConsent.Method.values:
        raise InvalidInput("invalid_consent", "同意人或方式无效")
    if not given_by_name.strip():
        raise InvalidInput("name_required", "请填写同意人姓名", field="given_by_name")
    with transaction.atomic():
        home = Beneficiary.objects.filter(pk=beneficiary_id, deleted_at__isnull=True).first()
        if home is None or not is_staff_for(actor, home.neighborhood_id):
            raise NotFound("beneficiary_not_found", "老人不存在")
        if HomeConsent.objects.filter(beneficiary=home, withdrawn_at__isnull=True).exists():
            raise Conflict("consent_exists", "已登记同意")
        return HomeConsent.objects.create(
            beneficiary=home, given_by=given_by, given_by_name=given_by_name.strip()[:32], method=method,
            given_at=given_at or timezone.now(), recorded_by=actor,
        )


def withdraw_home_consent(beneficiary_id: int) -> int:
    """Withdraw the active consent (if any): the home's devices are unbound and retired, their
    raw events and daily aggregates deleted. Called by `do_withdraw_home_consent` and by erasure (sensors/pipl.py)."""
    now = timezone.now()
    HomeConsent.objects.filter(beneficiary_id=beneficiary_id, withdrawn_at__isnull=True).update(withdrawn_at=now)
    devices = Device.objects.filter(home_id=beneficiary_id)
    SensorEvent.objects.filter(device__in=devices.values("pk")).delete()
    DeviceDayAggregate.objects.filter(device__in=devices.values("pk")).delete()
    return devices.update(home=None, state=Device.State.RETIRED)


def do_withdraw_home_consent(beneficiary_id: int, *, actor: User) -> int:
    with transaction.atomic():
        home = Beneficiary.objects.filter(pk=beneficiary_id).first()
        if home is None:
            raise NotFound("beneficiary_not_found", "老人不存在")
        if not (is_staff_for(actor, home.neighborhood_id) or home.owner_id == actor.pk):
            raise Forbidden("staff_or_family_only", "只有家属或本居委工作人员可以撤回")
        return withdraw_home_consent(beneficiary_id)
