"""What the device stand-in sends (manage.py sensor_standin; docs/sensors.md, The device stand-in).

A `Simulation` turns a stretch of simulated time into the events a vendor's devices would report:
every device a heartbeat each `heartbeat_minutes` and a battery report every 6 hours; 红外人体
and 门磁 in a home report motion and door openings in the daytime (07:00-22:00) — an ordinary
day — except the home chosen as the elder who stops moving, silent for the last
`stop_hours`; the chosen smoke sensor alarms once at 02:00 (a smoke alarm at night); the chosen
dying battery loses 12% per report from 60%. The transport may resend a batch (`resend_every`).

Event ids are made from the device, the type and the simulated minute, so running the stand-in
again over the same stretch sends the same ids: the ingestion stores nothing twice.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils import timezone

from sensors.models import Device

DAY_START, DAY_END = 7, 22


@dataclass
class Simulation:
    devices: list[Device]
    start: dt.datetime  # the simulated start (aware)
    heartbeat_minutes: int = 60
    stop_home: int | None = None  # the elder who stops moving (a Beneficiary id)
    stop_at: dt.datetime | None = None  # from when that home is silent
    night_alarm: str | None = None  # a smoke device's vendor id
    dying_battery: str | None = None
    seed: int = 7
    _alarmed: set = field(default_factory=set)

    def _id(self, device: Device, kind: str, at: dt.datetime) -> str:
        return f"{device.vendor_device_id}-{kind}-{int(at.timestamp()) // 60}"

    def _event(self, device: Device, kind: str, at: dt.datetime, value=None) -> dict:
        return {"event_id": self._id(device, kind, at), "device_id": device.vendor_device_id, "type": kind,
                "occurred_at": at.isoformat(), "value": value}

    def events_between(self, begin: dt.datetime, end: dt.datetime) -> list[dict]:
        """The events whose simulated minute falls in [begin, end), in time order."""
        out: list[dict] = []
        minute = begin.replace(second=0, microsecond=0)
        if minute < begin:
            minute += dt.timedelta(minutes=1)
        while minute < end:
            out.extend(self._minute(minute))
            minute += dt.timedelta(minutes=1)
        return out

    def _minute(self, at: dt.datetime) -> list[dict]:
        local = timezone.localtime(at)
        since = int((at - self.start).total_seconds() // 60)
        epoch = int(at.timestamp()) // 60  # phases on the clock, not the start: a rerun sends the same ids
        rng = random.Random(f"{self.seed}-{epoch}")
        out = []
        for device in self.devices:
            if epoch % self.heartbeat_minutes == device.pk % self.heartbeat_minutes:
                out.append(self._event(device, "heartbeat", at))
            if epoch % 360 == device.pk % 360:
                out.append(self._event(device, "battery", at, self._battery(device, since)))
            if device.home_id and device.kind in (Device.Kind.INFRARED, Device.Kind.DOOR):
                silent = device.home_id == self.stop_home and self.stop_at is not None and at >= self.stop_at
                daytime = DAY_START <= local.hour < DAY_END
                chance = 1 / 20 if device.kind == Device.Kind.INFRARED else 1 / 90
                if daytime and not silent and rng.random() < chance:
                    value = {"motion": True} if device.kind == Device.Kind.INFRARED else {"open": True}
                    out.append(self._event(device, "reading", at, value))
            if (device.vendor_device_id == self.night_alarm and local.hour == 2 and local.minute == 0
                    and local.date() not in self._alarmed):
                self._alarmed.add(local.date())
                out.append(self._event(device, "alarm", at, {"smoke_obscuration": 0.34}))
        return out

    def _battery(self, device: Device, since_minutes: int) -> int:
        if device.vendor_device_id == self.dying_battery:
            return max(0, 60 - 12 * (since_minutes // 360 + 1))
        return 90
