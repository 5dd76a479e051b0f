"""一键表达: the category tree, responsible units, routing rules, area bounds and matters with
their cases and timelines (docs/matters.md).

Units: five street departments per street (城管, 房管, 派出所, 市场监管, 城运中心网格, the grid
being where the others escalate) and 物业 companies for the rest of `responsible_units`, each
hung on one neighborhood and serving the neighborhoods of its street in turn. Street rules send
every category to a department; neighborhood rules send 设施报修 and 物业服务 to the estate's
物业. Committees are not units: their staff see their neighborhoods' cases anyway (cases.access).

Matters follow the neighborhoods' activity (Zipf). Most are closed or confirmed over the
years; ~1 % are open and recent (the last ten days), so some are past their deadline — those
lead every queue and the overdue list, as in a real district.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools

from cases.models import Case, CaseEvent, ResponsibleUnit
from matters.models import Matter, MatterCategory, MatterItem, RegionBounds, RoutingRule

from . import World, rng_for
from .loader import Loader

S = Case.Status
E = CaseEvent.Kind
K = ResponsibleUnit.Kind

# (category, [(item, accept hours, resolve hours)], the street department it goes to)
# A generated case row, in this order (the service-request generator writes cases the same way).
CASE_COLUMNS = [
    "id", "kind", "status", "unit", "supervising_unit", "unit_chain", "neighborhood", "street", "reporter",
    "accept_hours", "resolve_hours", "accept_due_at", "resolve_due_at", "due_at", "escalated_for",
    "accepted_at", "resolved_at", "finished_at", "reopen_count", "answer", "reject_reason", "rating",
    "rated_at", "created_at",
]
CATALOG = [
    ("环境卫生", [("垃圾未清运", 24, 72), ("绿化养护", 48, 240), ("道路保洁", 24, 72)], K.URBAN_MANAGEMENT),
    ("设施报修", [("路灯不亮", 24, 120), ("电梯故障", 4, 48), ("屋顶漏水", 24, 168)], K.HOUSING),
    ("噪音扰民", [("装修噪音", 12, 48), ("商铺噪音", 12, 72)], K.POLICE),
    ("违章停车", [("占用消防通道", 2, 24), ("乱停非机动车", 24, 72)], K.URBAN_MANAGEMENT),
    ("消防安全隐患", [("楼道堆物", 12, 72), ("飞线充电", 4, 24)], K.GRID),
    ("物业服务", [("保安保洁", 24, 120), ("收费争议", 48, 240)], K.HOUSING),
    ("邻里纠纷", [("漏水纠纷", 24, 168), ("宠物扰民", 24, 120)], K.GRID),
    ("市场秩序", [("占道经营", 24, 72), ("食品安全", 12, 72)], K.MARKET_REGULATION),
    ("其他", [("其他问题", 48, 240)], K.GRID),
]
TO_PROPERTY = {"设施报修", "物业服务"}  # the estate's 物业 answers these where it has one
STREET_KINDS = [K.GRID, K.URBAN_MANAGEMENT, K.HOUSING, K.POLICE, K.MARKET_REGULATION]

# (final status, share, the path that leads there)
OUTCOMES = [
    (S.CONFIRMED, 0.40, [S.ACCEPTED, S.RESOLVED, S.CONFIRMED]),
    (S.CLOSED, 0.52, [S.ACCEPTED, S.RESOLVED, S.CLOSED]),
    (S.REJECTED, 0.07, [S.REJECTED]),
    # Open matters are the last ten days' worth.
    (S.SUBMITTED, 0.003, []),
    (S.ACCEPTED, 0.005, [S.ACCEPTED]),
    (S.RESOLVED, 0.0015, [S.ACCEPTED, S.RESOLVED]),
    (S.REOPENED, 0.0005, [S.ACCEPTED, S.RESOLVED, S.REOPENED]),
]
EVENT_OF = {
    S.ACCEPTED: E.ACCEPTED, S.RESOLVED: E.RESOLVED, S.CONFIRMED: E.CONFIRMED, S.CLOSED: E.CLOSED,
    S.REJECTED: E.REJECTED, S.REOPENED: E.REOPENED,
}
TEXTS = ["楼下路灯坏了好几天，晚上很黑", "消防通道被车堵住了", "楼道里堆满杂物", "晚上十点以后还在装修",
         "垃圾桶满了没人清运", "电梯经常停在半路", "小区门口有人占道摆摊", "顶楼漏水，墙面发霉"]
PLACES = ["1号楼", "3号楼门口", "小区东门", "地下车库", "5号楼楼道", "中心花园", "南门岗亭", "12号楼"]
ANSWERS = ["已派人处理完毕", "已联系相关部门清理", "已维修，请查看", "已约谈当事人，问题已解决"]
BOX = 0.006  # a neighborhood's bounds: ~650 m of latitude


def make_matters(loader: Loader, world: World) -> None:
    r = rng_for(world.seed, "matters")
    items = _catalog(loader)
    units, routes_to = _units_and_routes(loader, world)
    boxes = _bounds(loader, world)
    nbs = world.neighborhood_ids
    cum = list(itertools.accumulate(world.activity))
    outcome_cum = list(itertools.accumulate(share for _, share, _ in OUTCOMES))
    start, now = world.start(), world.now
    span = (now - start).total_seconds()
    total = world.scale.matters
    first_case = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    first_matter = (Matter.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    cases: list[tuple] = []
    events: list[tuple] = []

    def matters():
        for i in range(total):
            nb = nbs[min(len(nbs) - 1, bisect.bisect_left(cum, r.random() * cum[-1]))]
            residents = world.residents_of.get(nb) or []
            if not residents:
                continue
            reporter = residents[int(r.random() * len(residents))]
            street = world.neighborhood_street[nb]
            category, category_name, item, accept_hours, resolve_hours = items[int(r.random() * len(items))]
            unit = routes_to[(nb, category_name)]
            k = bisect.bisect_left(outcome_cum, r.random() * outcome_cum[-1])
            if i < len(OUTCOMES):  # every state at least once, even at small scale
                k = i
            final, _share, path = OUTCOMES[min(k, len(OUTCOMES) - 1)]
            if final in Case.OPEN:
                created = now - dt.timedelta(hours=r.uniform(0.5, 24 * 10))
            else:
                created = start + dt.timedelta(seconds=span * (i + r.random()) / total)
            accept_due = created + dt.timedelta(hours=accept_hours)
            resolve_due = created + dt.timedelta(hours=resolve_hours)
            case_id, matter_id = first_case + len(cases), first_matter + len(cases)
            handler = units[unit]
            events.append((case_id, E.SUBMITTED, reporter, "", S.SUBMITTED, created))
            t, previous = created, S.SUBMITTED
            stamps: dict[str, dt.datetime] = {}
            for step in path:
                t = min(now, t + dt.timedelta(hours=r.uniform(0.2, accept_hours if step == S.ACCEPTED else resolve_hours)))
                actor = reporter if step in (S.CONFIRMED, S.REOPENED) else (None if step == S.CLOSED else handler)
                events.append((case_id, EVENT_OF[step], actor, previous, step, t))
                stamps[step] = t
                previous = step
            rating = None
            if final == S.CONFIRMED and r.random() < 0.7:
                rating = 5 if r.random() < 0.6 else r.randint(1, 4)
                events.append((case_id, E.RATED, reporter, "", "", t))
            due = accept_due if final in Case.ACCEPT_PHASE else resolve_due if final in Case.RESOLVE_PHASE else None
            finished = stamps.get(S.CONFIRMED) or stamps.get(S.CLOSED)
            cases.append((
                case_id, "matter", final, unit, None, [unit], nb, street, reporter, accept_hours, resolve_hours,
                accept_due, resolve_due, due, None, stamps.get(S.ACCEPTED), stamps.get(S.RESOLVED), finished,
                1 if final == S.REOPENED else 0, r.choice(ANSWERS) if S.RESOLVED in stamps else "",
                "不属于本单位职责" if final == S.REJECTED else "", rating, t if rating else None, created,
            ))
            lat0, lng0 = boxes[nb]
            yield (
                matter_id, case_id, item, category, nb, reporter, r.choice(TEXTS), Matter.TextStatus.PUBLISHED,
                f"{lat0 + r.random() * BOX:.6f}", f"{lng0 + r.random() * BOX:.6f}", r.choice(PLACES),
                r.random() < 0.2, 0, created,
            )

    # Cases before their matters (the matter points at its case); both lists are built in one pass.
    matter_rows = list(matters())
    loader.load(
        Case,
        CASE_COLUMNS,
        cases, total=len(cases), label="cases",
    )
    n = loader.load(
        Matter,
        ["id", "case", "item", "category", "neighborhood", "reporter", "text", "text_status", "latitude",
         "longitude", "place", "hide_name", "supporters_count", "created_at"],
        matter_rows, total=len(matter_rows), label="matters",
    )
    first_event = (CaseEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    loader.load(
        CaseEvent,
        ["id", "case", "kind", "actor", "from_status", "to_status", "created_at"],
        ((first_event + j, *row) for j, row in enumerate(events)), total=len(events), label="case timeline",
    )
    world.counts.update(responsible_units=len(units), matters=n, case_events=len(events))


def _catalog(loader: Loader) -> list[tuple]:
    """The category tree; returns (category id, category name, item id, accept h, resolve h) per item."""
    cat0 = (MatterCategory.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    item0 = (MatterItem.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    categories, items, out = [], [], []
    for c, (name, its, _kind) in enumerate(CATALOG):
        categories.append((cat0 + c, name, c, True))
        for sort, (item, accept, resolve) in enumerate(its):
            item_id = item0 + len(items)
            items.append((item_id, cat0 + c, item, accept, resolve, sort, True))
            out.append((cat0 + c, name, item_id, accept, resolve))
    loader.load(MatterCategory, ["id", "name", "sort_order", "is_active"], categories, total=len(categories),
                label="matter categories")
    loader.load(MatterItem, ["id", "category", "name", "accept_hours", "resolve_hours", "sort_order", "is_active"],
                items, total=len(items), label="matter items")
    return out


def _units_and_routes(loader: Loader, world: World) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
    """Units with members and routing rules. Returns {unit: a member who acts for it} and
    {(neighborhood, category name): the unit a matter there goes to} (as matters.routing decides)."""
    unit0 = (ResponsibleUnit.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    categories = dict(MatterCategory.objects.values_list("name", "id"))
    units, members, handler, rules = [], [], {}, []
    dept: dict[tuple[int, str], int] = {}
    for street in world.street_ids:
        officers = world.officers_of.get(street) or []
        for kind in STREET_KINDS:
            uid = unit0 + len(units)
            dept[(street, kind)] = uid
            grid = dept[(street, K.GRID)]
            units.append((uid, f"{street}街道{K(kind).label}", kind, street, None if kind == K.GRID else grid, True))
            for officer in officers:
                members.append((uid, officer))
            if officers:
                handler[uid] = officers[uid % len(officers)]
        for name, _its, kind in CATALOG:
            rules.append((street, categories[name], dept[(street, kind)]))
    n_property = max(0, world.scale.responsible_units - len(units))
    by_street: dict[int, list[int]] = {}
    for nb in world.neighborhood_ids:
        by_street.setdefault(world.neighborhood_street[nb], []).append(nb)
    property_of: dict[int, int] = {}
    streets = world.street_ids
    for p in range(n_property):
        street = streets[p % len(streets)]
        nbs = by_street.get(street) or []
        if not nbs:
            continue
        uid = unit0 + len(units)
        home = nbs[(p // len(streets)) % len(nbs)]
        units.append((uid, f"第{p + 1}物业公司", K.PROPERTY, home, dept[(street, K.GRID)], True))
        workers = world.providers_of.get(street) or world.officers_of.get(street) or []
        if workers:
            worker = workers[p % len(workers)]
            members.append((uid, worker))
            handler[uid] = worker
    # Each street's 物业 companies serve its neighborhoods in turn.
    companies: dict[int, list[int]] = {}
    for uid, _name, kind, region, _parent, _active in units:
        if kind == K.PROPERTY:
            companies.setdefault(world.neighborhood_street[region], []).append(uid)
    for street, nbs in by_street.items():
        for j, nb in enumerate(nbs):
            if companies.get(street):
                property_of[nb] = companies[street][j % len(companies[street])]
                for name in TO_PROPERTY:
                    rules.append((nb, categories[name], property_of[nb]))
    loader.load(ResponsibleUnit, ["id", "name", "kind", "region", "parent", "is_active"], units, total=len(units),
                label="responsible units")
    through = ResponsibleUnit.members.through
    loader.load(through, ["id", "responsibleunit", "user"], ((j + 1, *m) for j, m in enumerate(members)),
                total=len(members), label="unit members")
    loader.load(RoutingRule, ["id", "region", "category", "unit"], ((j + 1, *rule) for j, rule in enumerate(rules)),
                total=len(rules), label="routing rules")
    routes_to = {}
    for nb in world.neighborhood_ids:
        street = world.neighborhood_street[nb]
        for name, _its, kind in CATALOG:
            routes_to[(nb, name)] = property_of[nb] if name in TO_PROPERTY and nb in property_of else dept[(street, kind)]
    for uid, *_ in units:
        handler.setdefault(uid, None)
    return handler, routes_to


def _bounds(loader: Loader, world: World) -> dict[int, tuple[float, float]]:
    """A box per neighborhood on a grid over Baoshan's latitude/longitude, so points and the
    create's location check (matters.routing.check_location) are realistic."""
    boxes, rows = {}, []
    for i, nb in enumerate(world.neighborhood_ids):
        lat0, lng0 = 31.30 + (i // 25) * 0.008, 121.30 + (i % 25) * 0.008
        boxes[nb] = (lat0, lng0)
        rows.append((i + 1, nb, f"{lat0:.6f}", f"{lat0 + BOX:.6f}", f"{lng0:.6f}", f"{lng0 + BOX:.6f}"))
    loader.load(RegionBounds, ["id", "region", "min_lat", "max_lat", "min_lng", "max_lng"], rows, total=len(rows),
                label="region bounds")
    return boxes
