"""Open311 on the matters world of tests/matters/conftest.py (its WeChat stand-in included),
plus partner keys: a 12345 platform scoped to the street that may file, a read-only
grid system on the other street, and a switched-off key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest
from rest_framework.test import APIClient

from open311.keys import do_create_partner_key
from tests.matters.conftest import standin, world  # noqa: F401 (fixtures)


@dataclass
class Keys:
    platform: str  # may file, scope: the street (both its neighborhoods)
    reader: str  # read-only, scope: the street
    other: str  # may file, scope: the other street only
    inactive: str


@pytest.fixture
def keys(world) -> Keys:  # noqa: F811
    def make(name, regions, may_file, active=True):
        key, raw = do_create_partner_key(name=name, regions=regions, may_file=may_file)
        if not active:
            key.is_active = False
            key.save(update_fields=["is_active"])
        return raw

    return Keys(
        platform=make("宝山12345平台", [world.street], True),
        reader=make("友谊路网格化系统", [world.street], False),
        other=make("吴淞网格化系统", [world.other_neighborhood.parent], True),
        inactive=make("停用的系统", [world.street], True, active=False),
    )


def client() -> APIClient:
    return APIClient()


def post_request(key: str | None, fmt: str = "json", headers: dict | None = None, **fields):
    """POST requests.{fmt} form-encoded, as the spec has it (`headers`: e.g. Idempotency-Key)."""
    body = {"service_code": "", "lat": "31.345000", "long": "121.445000", "description": "3号楼前路灯不亮",
            "address_string": "宝林一村3号楼"}
    if key is not None:
        body["api_key"] = key
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    return client().generic("POST", f"/open311/v2/requests.{fmt}", urlencode(body),
                            content_type="application/x-www-form-urlencoded", headers=headers)


def get(path: str, **query):
    return client().get(path, query)


def georeport_error(response, status: int, code: str | None = None, fmt: str = "json") -> str:
    """The spec's error shape: a list of {code, description}, code = the HTTP status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    if fmt == "json":
        assert response["Content-Type"].startswith("application/json")
        body = json.loads(response.content)
        assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}, body
        assert body[0]["code"] == status
        description = body[0]["description"]
    else:
        assert response["Content-Type"].startswith("text/xml")
        root = ET.fromstring(response.content)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        assert [c.tag for c in root[0]] == ["code", "description"]
        assert root[0].findtext("code") == str(status)
        description = root[0].findtext("description")
    if code is not None:
        assert description.startswith(f"{code}: "), description
    return description
