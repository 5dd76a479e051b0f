"""The demo seed builds one topic per stage in 宝林一村 and is idempotent."""

from __future__ import annotations

import io

import pytest

from deliberation import demo
from deliberation.models import Topic
from tests import factories as f
from tests.deliberation.conftest import member

pytestmark = pytest.mark.django_db


def test_demo_seed_builds_each_stage_once():
    street = f.StreetFactory(code="310113003000")
    baolin = f.NeighborhoodFactory(parent=street, code=demo.BAOLIN_1, name="宝林一村居委会", households=3200)
    group = f.BuildingGroupFactory(parent=baolin, code=demo.GROUP_1, name="1号楼组")
    for openid in ("zhangsan", "lisi", "zhoubanzhu"):
        member(baolin, group=group, openid=openid, username=openid)
    f.staff(baolin, openid="chenjuwei", username="chenjuwei")
    out = io.StringIO()
    demo.seed(out)
    demo.seed(out)
    statuses = dict(Topic.objects.values_list("category", "status"))
    assert statuses == {
        "parking": "proposed",
        "property": "discussing",
        "elevator": "voting",
        "garbage": "implementing",
    }
    assert Topic.objects.count() == 4
    elevator = Topic.objects.get(category="elevator")
    assert elevator.building_group == group and elevator.vote.pass_rule == "civil_code"
    assert Topic.objects.get(category="garbage").milestones.count() == 4


def test_demo_seed_without_residents_demo_adds_nothing():
    out = io.StringIO()
    demo.seed(out)
    assert Topic.objects.count() == 0 and "跳过" in out.getvalue()
