"""A small world for 一键表达: one street with two neighborhoods and another street; units with
an escalation chain (物业 → 居委 → 城运中心网格; 城管 → 城运中心网格); routing rules at the
neighborhood and at the street; the neighborhood's latitude/longitude box."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cases.models import ResponsibleUnit
from matters.models import MatterCategory, MatterItem, RegionBounds, RoutingRule
from tests import factories as f
from tests.conftest import Api

# 宝林一村, roughly
LAT, LNG = "31.345000", "121.445000"


@dataclass
class World:
    street: object
    neighborhood: object
    sister: object  # another neighborhood of the same street
    other_neighborhood: object  # in the other street
    reporter: object
    neighbor: object
    sister_resident: object
    outsider: object
    staff: object  # committee staff of the neighborhood
    officer: object  # officer of the street
    other_officer: object
    property_worker: object
    committee_worker: object
    grid_worker: object
    urban_worker: object
    property: object
    committee: object
    grid: object
    urban: object
    other_grid: object
    repair: object  # 设施报修·路灯不亮, routed to 物业 at the neighborhood
    parking: object  # 违章停车·占用消防通道, routed to 城管 at the street
    unrouted: object  # 其他·其他问题: no rule anywhere


@pytest.fixture(autouse=True)
def standin(wechat_standin):
    """The content check reaches the WeChat stand-in over real HTTP: 赌博 is risky, 上访 needs review."""
    wechat_standin.control("POST", "words", {"risky": {"赌博": 20006}, "review": {"上访": 21000}})
    return wechat_standin


def _unit(name, kind, region, parent=None, member=None):
    unit = ResponsibleUnit.objects.create(name=name, kind=kind, region=region, parent=parent)
    if member is not None:
        unit.members.add(member)
    return unit


@pytest.fixture
def world(db, street, other_street, neighborhood, other_neighborhood) -> World:
    sister = f.NeighborhoodFactory(parent=street, name="宝林二村居委会")
    workers = {name: f.UserFactory(nickname=name) for name in ("物业王经理", "居委李干事", "网格员", "城管队员")}
    grid = _unit("友谊路城运中心网格", ResponsibleUnit.Kind.GRID, street, member=workers["网格员"])
    urban = _unit("友谊路城管中队", ResponsibleUnit.Kind.URBAN_MANAGEMENT, street, grid, workers["城管队员"])
    committee = _unit("宝林一村居委会", ResponsibleUnit.Kind.COMMITTEE, neighborhood, grid, workers["居委李干事"])
    prop = _unit("宝林一村物业", ResponsibleUnit.Kind.PROPERTY, neighborhood, committee, workers["物业王经理"])
    other_grid = _unit("吴淞城运中心网格", ResponsibleUnit.Kind.GRID, other_street)
    repair_category = MatterCategory.objects.create(name="设施报修", sort_order=1)
    parking_category = MatterCategory.objects.create(name="违章停车", sort_order=2)
    other_category = MatterCategory.objects.create(name="其他", sort_order=3)
    repair = MatterItem.objects.create(category=repair_category, name="路灯不亮", accept_hours=12, resolve_hours=72)
    parking = MatterItem.objects.create(category=parking_category, name="占用消防通道", accept_hours=1, resolve_hours=4)
    unrouted = MatterItem.objects.create(category=other_category, name="其他问题", accept_hours=24, resolve_hours=168)
    RoutingRule.objects.create(region=neighborhood, category=repair_category, unit=prop)
    RoutingRule.objects.create(region=street, category=parking_category, unit=urban)
    RegionBounds.objects.create(region=neighborhood, min_lat="31.340000", max_lat="31.350000",
                                min_lng="121.440000", max_lng="121.450000")
    return World(
        street=street, neighborhood=neighborhood, sister=sister, other_neighborhood=other_neighborhood,
        reporter=f.resident(neighborhood, nickname="张三"), neighbor=f.resident(neighborhood, nickname="李四"),
        sister_resident=f.resident(sister, nickname="二村居民"), outsider=f.resident(other_neighborhood, nickname="赵六"),
        staff=f.staff(neighborhood, nickname="陈主任"), officer=f.officer(street, nickname="刘科长"),
        other_officer=f.officer(other_street, nickname="孙科长"),
        property_worker=workers["物业王经理"], committee_worker=workers["居委李干事"], grid_worker=workers["网格员"],
        urban_worker=workers["城管队员"], property=prop, committee=committee, grid=grid, urban=urban, other_grid=other_grid,
        repair=repair, parking=parking, unrouted=unrouted,
    )


def report(api: Api, item, headers: dict | None = None, **overrides):
    body = {"item": item.pk, "text": "5号楼门口路灯坏了一周了", "place": "5号楼门口", "latitude": LAT, "longitude": LNG}
    body.update(overrides)
    return api.post("/api/v1/matters", body, headers=headers)


def created(api: Api, item, headers: dict | None = None, **overrides) -> dict:
    response = report(api, item, headers=headers, **overrides)
    assert response.status_code == 201, response.content[:500]
    return response.json()


def url(matter_id: int, verb: str = "") -> str:
    return f"/api/v1/matters/{matter_id}" + (f"/{verb}" if verb else "")
