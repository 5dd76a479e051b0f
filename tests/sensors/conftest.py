"""A small world for 物联感知: a neighborhood with its 居委 unit (one member) under the street's
grid unit, a vendor integration, a smoke sensor in a shed, a door sensor in a consented home, and
a signed push helper."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest

from cases.models import ResponsibleUnit
from sensors.models import Device, HomeConsent, Integration, Place
from sensors.signature import sign
from tests import factories as f
from tests.conftest import Api

SECRET = "vendor-secret-0123456789"
URL = "/api/v1/sensors/ingest"


@dataclass
class World:
    neighborhood: object
    street: object
    committee: object
    grid: object
    member: object
    grid_member: object
    staff: object
    integration: object
    smoke: object
    door: object
    gas: object
    elder: object


@pytest.fixture
def world(db, street, neighborhood) -> World:
    member, grid_member = f.UserFactory(nickname="居委李干事"), f.UserFactory(nickname="网格员")
    grid = ResponsibleUnit.objects.create(name="友谊路城运中心网格", kind=ResponsibleUnit.Kind.GRID, region=street)
    grid.members.add(grid_member)
    committee = ResponsibleUnit.objects.create(
        name="宝林一村居委会", kind=ResponsibleUnit.Kind.COMMITTEE, region=neighborhood, parent=grid
    )
    committee.members.add(member)
    integration = Integration.objects.create(name="某厂商平台", vendor="acme", secret=SECRET)
    shed = Place.objects.create(name="3号非机动车棚", kind=Place.Kind.SHED, region=neighborhood)
    elder = f.BeneficiaryFactory(neighborhood=neighborhood, owner=f.resident(neighborhood, nickname="张三"))
    HomeConsent.objects.create(beneficiary=elder, given_by="family", given_by_name="张三", method="paper", given_at="2026-01-01T00:00:00+08:00")
    smoke = Device.objects.create(kind=Device.Kind.SMOKE, vendor="acme", vendor_device_id="SMK-1", region=neighborhood, place=shed)
    gas = Device.objects.create(kind=Device.Kind.GAS, vendor="acme", vendor_device_id="GAS-1", region=neighborhood, place=shed)
    door = Device.objects.create(kind=Device.Kind.DOOR, vendor="acme", vendor_device_id="DOOR-1", region=neighborhood, home=elder)
    return World(
        neighborhood=neighborhood, street=street, committee=committee, grid=grid, member=member, grid_member=grid_member,
        staff=f.staff(neighborhood, nickname="陈主任"), integration=integration, smoke=smoke, door=door, gas=gas, elder=elder,
    )


def event(event_id: str, device: str, type_: str = "heartbeat", at: str = "2026-03-01T08:00:00+08:00", value=None) -> dict:
    return {"event_id": event_id, "device_id": device, "type": type_, "occurred_at": at, "value": value}


def push(integration, events, *, secret: str = SECRET, timestamp: int | None = None, body: bytes | None = None,
         signature: str | None = None):
    raw = body if body is not None else json.dumps({"events": events}).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    headers = {
        "HTTP_X_SENSOR_INTEGRATION": str(integration.pk), "HTTP_X_SENSOR_TIMESTAMP": ts,
        "HTTP_X_SENSOR_SIGNATURE": signature if signature is not None else sign(secret, ts, raw),
    }
    return Api().client.generic("POST", URL, raw, content_type="application/json", **headers)
