"""Read models for staff: the per-device false-alarm rate (docs/sensors.md)."""

from __future__ import annotations

from django.db.models import Count, Q

from sensors.models import SensorCase


def false_alarm_rates(neighborhood_ids) -> list[dict]:
    """Per device of these neighborhoods with at least one closed alert: closed alerts, how many
    were 误报, and the rate; highest rate first. One query."""
    rows = (
        SensorCase.objects.filter(device__region_id__in=neighborhood_ids, is_open=False)
        .exclude(outcome="")
        .values("device_id", "device__kind", "device__vendor", "device__vendor_device_id", "device__region_id")
        .annotate(closed=Count("pk"), false_alarms=Count("pk", filter=Q(outcome=SensorCase.Outcome.FALSE_ALARM)))
        .order_by("device_id")
    )
    out = [
        {
            "device": r["device_id"], "kind": r["device__kind"], "vendor": r["device__vendor"],
            "vendor_device_id": r["device__vendor_device_id"], "neighborhood": r["device__region_id"],
            "closed": r["closed"], "false_alarms": r["false_alarms"], "rate": round(r["false_alarms"] / r["closed"], 4),
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: (-r["rate"], r["device"]))
