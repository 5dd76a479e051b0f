"""Demo data for 一键表达: the category tree with its 受理/办结 targets, the responsible units of
the demo streets and neighborhoods with their escalation chain, routing rules and the
district's latitude/longitude box. Idempotent (natural keys). Needs the residents demo."""

from __future__ import annotations

from cases.models import ResponsibleUnit
from matters.models import MatterCategory, MatterItem, RegionBounds, RoutingRule
from residents.models import Region, User

# category → [(item, 受理 hours, 办结 hours)]
CATALOG = [
    ("环境卫生", [("垃圾未清运", 4, 24), ("楼道堆物", 24, 72), ("绿化养护", 24, 120)]),
    ("设施报修", [("路灯不亮", 12, 72), ("漏水渗水", 4, 48), ("电梯故障", 2, 24), ("道路破损", 24, 168)]),
    ("噪音扰民", [("装修噪音", 4, 24), ("商铺噪音", 4, 48), ("夜间施工", 2, 24)]),
    ("违章停车", [("占用消防通道", 1, 4), ("占用绿地", 12, 48)]),
    ("消防安全隐患", [("楼道电瓶车充电", 2, 24), ("消防设施损坏", 4, 48), ("飞线充电", 2, 24)]),
    ("物业服务", [("保洁不到位", 24, 72), ("门禁损坏", 12, 48), ("收费争议", 24, 168)]),
    ("邻里纠纷", [("高空抛物", 4, 48), ("宠物扰民", 24, 120), ("其他纠纷", 24, 168)]),
    ("其他", [("其他问题", 24, 168)]),
]

DISTRICT_CODE = "310113000000"
BAOSHAN_BOX = ("31.280000", "31.520000", "121.240000", "121.560000")
# street code → {kind: name}; the 城运中心网格 is the street's top: everything else escalates to it
STREET_UNITS = {
    "310113003000": "友谊路街道",
    "310113004000": "吴淞街道",
}
DEPARTMENTS = [
    (ResponsibleUnit.Kind.URBAN_MANAGEMENT, "城管中队"),
    (ResponsibleUnit.Kind.HOUSING, "房管办"),
    (ResponsibleUnit.Kind.POLICE, "派出所"),
    (ResponsibleUnit.Kind.MARKET_REGULATION, "市场监管所"),
]
# category → which unit answers it: "street:<kind>" or "hood:<kind>"
ROUTES = {
    "环境卫生": "hood:property",
    "设施报修": "hood:property",
    "噪音扰民": "hood:committee",
    "违章停车": "street:urban_management",
    "消防安全隐患": "street:grid",
    "物业服务": "street:housing",
    "邻里纠纷": "hood:committee",
    "其他": "hood:committee",
}


def _unit(name: str, kind: str, region: Region, parent: ResponsibleUnit | None) -> ResponsibleUnit:
    unit, _ = ResponsibleUnit.objects.get_or_create(name=name, region=region, defaults={"kind": kind, "parent": parent})
    return unit


def seed(stdout) -> None:
    categories = {}
    for c_order, (category_name, items) in enumerate(CATALOG):
        category, _ = MatterCategory.objects.get_or_create(name=category_name, defaults={"sort_order": c_order})
        categories[category_name] = category
        for i_order, (item_name, accept, resolve) in enumerate(items):
            MatterItem.objects.get_or_create(
                category=category, name=item_name,
                defaults={"accept_hours": accept, "resolve_hours": resolve, "sort_order": i_order},
            )
    district = Region.objects.filter(code=DISTRICT_CODE).first()
    if district is None:
        stdout.write("matters: 未找到演示区域（请先载入 residents 演示数据），只载入了诉求分类")
        return
    min_lat, max_lat, min_lng, max_lng = BAOSHAN_BOX
    RegionBounds.objects.get_or_create(
        region=district, defaults={"min_lat": min_lat, "max_lat": max_lat, "min_lng": min_lng, "max_lng": max_lng}
    )
    chenjuwei = User.objects.filter(openid="chenjuwei").first()
    for code, street_name in STREET_UNITS.items():
        street = Region.objects.filter(code=code).first()
        if street is None:
            continue
        grid = _unit(f"{street_name}城运中心网格", ResponsibleUnit.Kind.GRID, street, None)
        street_units = {"grid": grid}
        for kind, name in DEPARTMENTS:
            street_units[kind.value] = _unit(f"{street_name}{name}", kind, street, grid)
        for hood in Region.objects.filter(parent=street, level=Region.Level.NEIGHBORHOOD):
            short = hood.name.removesuffix("居委会").removesuffix("村委会")
            committee = _unit(hood.name, ResponsibleUnit.Kind.COMMITTEE, hood, grid)
            prop = _unit(f"{short}物业服务中心", ResponsibleUnit.Kind.PROPERTY, hood, committee)
            if chenjuwei is not None and hood.code == "310113003001":
                committee.members.add(chenjuwei)
            hood_units = {"committee": committee, "property": prop}
            for category_name, target in ROUTES.items():
                level, kind = target.split(":")
                region, unit = (hood, hood_units[kind]) if level == "hood" else (street, street_units[kind])
                RoutingRule.objects.get_or_create(region=region, category=categories[category_name], defaults={"unit": unit})
    stdout.write("matters: 诉求分类、责任单位和派单规则已就绪")
