"""PIPL export, erasure and retention for 物联感知 (privacy/pipl.py, privacy/retention.py).

Readings from a home are personal data of the elder and, through them, of the family member who
registered the elder (the beneficiary's owner, the account the rights are exercised from).
Export gives, for each elder the person registered: the consents, the devices in the home and
their raw events. Erasure withdraws the consents and unbinds and retires the home's devices,
deleting their raw events (sensors.actions.consents.withdraw_home_consent); alerts already on a
unit's board stay as the unit's record (their device is no longer linked to a home).

Retention: raw events older than the retention cutoff (SENSITIVE_RETENTION_DAYS) are deleted
by age (index `sensor_event_age`); the alert cases and their timelines stay.
"""

from __future__ import annotations

from datetime import datetime

from privacy.pipl import model_rows, register_eraser, register_exporter
from privacy.retention import register_purger
from residents.models import Beneficiary
from sensors.actions.consents import withdraw_home_consent
from sensors.models import Device, HomeConsent, SensorEvent

PURGE_BATCH = 10_000


def export(user) -> dict:
    homes = Beneficiary.objects.filter(owner=user).values("pk")
    devices = Device.objects.filter(home__in=homes)
    return {
        "home_consents": model_rows(HomeConsent.objects.filter(beneficiary__in=homes)),
        "devices": model_rows(devices),
        "sensor_events": model_rows(SensorEvent.objects.filter(device__in=devices.values("pk")).order_by("occurred_at")),
    }


def erase(user) -> None:
    for home_id in Beneficiary.objects.filter(owner=user).values_list("pk", flat=True):
        withdraw_home_consent(home_id)


def purge_raw_events(cutoff: datetime) -> int:
    """Delete raw events received before `cutoff`, oldest first, in batches (idempotent)."""
    deleted = 0
    while True:
        ids = list(SensorEvent.objects.filter(received_at__lt=cutoff).order_by("received_at", "id").values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return deleted
        deleted += SensorEvent.objects.filter(pk__in=ids).delete()[0]


register_exporter("sensors", export)
register_eraser("sensors", erase)
register_purger("sensors.raw_events", purge_raw_events)
