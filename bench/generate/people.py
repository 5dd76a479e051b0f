"""Regions, people, memberships, roles and beneficiaries (the residents app)."""

from __future__ import annotations

import datetime as dt

from core.crypto import blind_index, encrypt
from residents.models import Beneficiary, Membership, PartyIdentityRequest, PersonalInfoConsent, Region, Role, User

from . import World, rng_for, split_total, zipf_weights
from .loader import Loader

DISTRICT_CODE = "310113000000"
STREET_NAMES = [
    "友谊路街道",
    "吴淞街道",
    "张庙街道",
    "庙行镇",
    "淞南镇",
    "高境镇",
    "大场镇",
    "杨行镇",
    "月浦镇",
    "罗店镇",
    "顾村镇",
    "罗泾镇",
]
ROAD_WORDS = [
    "宝林",
    "淞滨",
    "塘后",
    "盘古",
    "永清",
    "通河",
    "长江",
    "泰和",
    "呼玛",
    "共富",
    "乾溪",
    "美罗",
    "馨佳",
    "菊泉",
    "宝钢",
    "月浦",
    "罗店",
    "美兰",
    "紫辰",
    "华灵",
    "场中",
    "联东",
    "沪太",
    "顾北",
]
SUFFIXES = ["一村", "二村", "三村", "四村", "五村", "新村", "苑", "路", "花园", "家园"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强玉兰凤英秀珍文红梅海燕丹萍"
RELATIONS = ["母亲", "父亲", "本人", "祖母", "祖父", "岳母", "婆婆"]
HEALTH = [
    "高血压，需低盐饮食",
    "糖尿病，按时服药",
    "腿脚不便",
    "听力较弱，请大声说话",
    "无特殊情况",
    "心脏病史，避免劳累",
]


def make_regions(loader: Loader, world: World) -> None:
    r = rng_for(world.seed, "regions")
    scale = world.scale
    created = world.start()
    district_id = 1
    world.district_id = district_id
    rows = [(district_id, Region.Level.DISTRICT, None, DISTRICT_CODE, "宝山区", 0, 0, {}, created)]
    next_id = 2
    per_street = split_total(scale.neighborhoods, [1 / scale.streets] * scale.streets)
    weights_hh = [r.uniform(0.4, 1.6) for _ in range(scale.neighborhoods)]
    total_w = sum(weights_hh)
    households = split_total(scale.households, [w / total_w for w in weights_hh])
    nb_index = 0
    bg_counter = 0
    for s in range(scale.streets):
        street_id = next_id
        next_id += 1
        world.street_ids.append(street_id)
        name = STREET_NAMES[s % len(STREET_NAMES)] + ("" if s < len(STREET_NAMES) else str(s // len(STREET_NAMES) + 1))
        rows.append((street_id, Region.Level.STREET, district_id, f"310113{s + 1:03d}000", name, 0, 0, {}, created))
        for n in range(per_street[s]):
            nb_id = next_id
            next_id += 1
            hh = households[nb_index]
            nb_index += 1
            village = r.random() < 0.12
            label = f"{r.choice(ROAD_WORDS)}{r.choice(SUFFIXES)}{n + 1 if n > 20 else ''}"
            nb_name = label + ("村村委会" if village else "居委会")
            pop = int(hh * r.uniform(2.2, 2.7))
            rows.append(
                (
                    nb_id,
                    Region.Level.NEIGHBORHOOD,
                    street_id,
                    f"310113{s + 1:03d}{n + 1:03d}",
                    nb_name,
                    hh,
                    pop,
                    {},
                    created,
                )
            )
            world.neighborhood_ids.append(nb_id)
            world.neighborhood_street[nb_id] = street_id
            for b in range(scale.building_groups_per_neighborhood):
                bg_counter += 1
                rows.append(
                    (
                        next_id,
                        Region.Level.BUILDING_GROUP,
                        nb_id,
                        f"3101139{bg_counter:05d}",
                        f"{b + 1}号楼组",
                        0,
                        0,
                        {},
                        created,
                    )
                )
                next_id += 1
    world.activity = zipf_weights(len(world.neighborhood_ids), world.scale.zipf_s, rng_for(world.seed, "activity"))
    loader.load(
        Region,
        ["id", "level", "parent", "code", "name", "households", "population", "settings", "created_at"],
        rows,
        total=len(rows),
        label="regions",
    )
    world.counts["regions"] = len(rows)
    world.counts["building_groups"] = bg_counter


def _name(r) -> str:
    return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2))))


def _phone(r) -> str:
    return f"1{r.choice('3578')}{r.randrange(10**9):09d}"


def make_people(loader: Loader, world: World) -> None:
    """Residents spread over households, members of their neighborhood; staff and officers."""
    r = rng_for(world.seed, "people")
    scale = world.scale
    start, now = world.start(), world.now
    span = (now - start).total_seconds()
    # Residents per neighborhood follow its share of households; joined households too.
    total_hh = scale.households
    # Recompute the same household split make_regions used (the Region rows hold it).
    hh = list(
        Region.objects.filter(level=Region.Level.NEIGHBORHOOD).order_by("id").values_list("households", flat=True)
    )
    residents_per_nb = split_total(scale.residents, [h / total_hh for h in hh])
    joined_per_nb = [
        min(res, j)
        for res, j in zip(
            residents_per_nb, split_total(scale.joined_households, [h / total_hh for h in hh]), strict=True
        )
    ]

    users: list[tuple] = []
    memberships: list[tuple] = []
    consents: list[tuple] = []
    uid = 0
    mid = 0
    party_quota = scale.party_members / scale.residents
    party_ids: list[tuple[int, int]] = []
    moderators: list[tuple[int, int]] = []
    building_leaders: list[tuple[int, int, int]] = []
    bg_first = {}  # neighborhood -> first building group id
    for bg_id, parent_id in (
        Region.objects.filter(level=Region.Level.BUILDING_GROUP).order_by("id").values_list("id", "parent_id")
    ):
        bg_first.setdefault(parent_id, bg_id)
    n_bg = scale.building_groups_per_neighborhood

    def user_row(username: str, nickname: str, joined: dt.datetime, *, openid: str | None, phone: str) -> tuple:
        nonlocal uid
        uid += 1
        enc = encrypt(phone) if phone else ""
        users.append((uid, "!", username, nickname, openid, enc, joined if phone else None, joined, True))
        return uid

    for idx, nb_id in enumerate(world.neighborhood_ids):
        n_res, n_households = residents_per_nb[idx], max(1, joined_per_nb[idx])
        members: list[int] = []
        for k in range(n_res):
            # The first n_households residents found a household each; the rest join one.
            household = k if k < n_households else r.randrange(n_households)
            building = f"{household // 24 + 1}号"
            room = f"{(household % 24) // 4 + 1}0{household % 4 + 1}室"
            joined = start + dt.timedelta(seconds=r.random() * span)
            phone = _phone(r) if r.random() < 0.6 else ""
            user_id = user_row(f"r{uid + 1}", _name(r), joined, openid=f"gen-{world.seed}-{uid + 1}", phone=phone)
            roll = r.random()
            status = (
                Membership.Status.APPROVED
                if roll < 0.97
                else Membership.Status.PENDING
                if roll < 0.99
                else Membership.Status.LEFT
            )
            mid += 1
            memberships.append(
                (
                    mid,
                    user_id,
                    nb_id,
                    bg_first.get(nb_id, 0) + household % n_bg if nb_id in bg_first else None,
                    building,
                    encrypt(room),
                    blind_index(f"{nb_id}|{building}|{room}", purpose="household"),
                    r.random() < 0.6,
                    status,
                    status == Membership.Status.APPROVED,
                    "qrcode" if r.random() < 0.7 else "choose",
                    joined if status != Membership.Status.PENDING else None,
                    joined,
                )
            )
            if phone:
                consents.append((len(consents) + 1, user_id, PersonalInfoConsent.Purpose.PHONE, "v1", joined))
            if status == Membership.Status.APPROVED:
                members.append(user_id)
                if r.random() < party_quota:
                    party_ids.append((user_id, nb_id))
        world.residents_of[nb_id] = members
        for m in members[:2]:
            moderators.append((m, nb_id))
        for b in range(n_bg):
            if len(members) > 2 + b:
                building_leaders.append((members[2 + b], nb_id, b + 1))

    # Staff are separate accounts with console logins (unusable password here).
    staff_roles: list[tuple[int, int, str, str]] = []
    for nb_id in world.neighborhood_ids:
        world.staff_of[nb_id] = []
        for i in range(5):
            user_id = user_row(f"staff-{nb_id}-{i}", _name(r), start, openid=None, phone=_phone(r))
            world.staff_of[nb_id].append(user_id)
            staff_roles.append((user_id, nb_id, Role.Kind.COMMITTEE_STAFF, "书记" if i == 0 else "社工"))
    for street_id in world.street_ids:
        world.officers_of[street_id] = []
        world.providers_of[street_id] = []
        for i in range(3):
            user_id = user_row(f"officer-{street_id}-{i}", _name(r), start, openid=None, phone=_phone(r))
            world.officers_of[street_id].append(user_id)
            staff_roles.append((user_id, street_id, Role.Kind.STREET_OFFICER, "科长" if i == 0 else "科员"))
        for i in range(10):
            user_id = user_row(
                f"provider-{street_id}-{i}",
                _name(r),
                start,
                openid=f"gen-{world.seed}-p{street_id}-{i}",
                phone=_phone(r),
            )
            world.providers_of[street_id].append(user_id)
            staff_roles.append((user_id, street_id, Role.Kind.SERVICE_PROVIDER, "服务人员"))
    for i in range(2):
        user_id = user_row(f"district-admin-{i}", _name(r), start, openid=None, phone=_phone(r))
        world.admin_ids.append(user_id)
        staff_roles.append((user_id, world.district_id, Role.Kind.DISTRICT_ADMIN, "区管理员"))

    loader.load(
        User,
        ["id", "password", "username", "nickname", "openid", "phone", "phone_bound_at", "date_joined", "is_active"],
        users,
        total=len(users),
        label="users",
    )
    loader.load(
        Membership,
        [
            "id",
            "user",
            "neighborhood",
            "building_group",
            "building",
            "room",
            "household_key",
            "is_owner",
            "status",
            "is_current",
            "joined_via",
            "decided_at",
            "created_at",
        ],
        memberships,
        total=len(memberships),
        label="memberships",
    )
    loader.load(
        PersonalInfoConsent,
        ["id", "user", "purpose", "text_version", "granted_at"],
        consents,
        total=len(consents),
        label="consents",
    )
    roles = []
    rid = 0
    for user_id, nb_id in party_ids:
        rid += 1
        roles.append((rid, user_id, nb_id, Role.Kind.PARTY_MEMBER, "党员", start))
    for user_id, nb_id in moderators:
        rid += 1
        roles.append((rid, user_id, nb_id, Role.Kind.MODERATOR, "版主", start))
    for user_id, nb_id, b in building_leaders:
        rid += 1
        roles.append((rid, user_id, nb_id, Role.Kind.BUILDING_LEADER, f"{b}号楼组长", start))
    for user_id, region_id, kind, title in staff_roles:
        rid += 1
        roles.append((rid, user_id, region_id, kind, title, start))
    loader.load(Role, ["id", "user", "region", "kind", "title", "granted_at"], roles, total=len(roles), label="roles")
    party_requests = [
        (i + 1, user_id, nb_id, f"{nb_id}党总支", 1970 + (user_id % 50), PartyIdentityRequest.Status.APPROVED, start)
        for i, (user_id, nb_id) in enumerate(party_ids)
    ]
    loader.load(
        PartyIdentityRequest,
        ["id", "user", "neighborhood", "party_branch", "joined_party_year", "status", "created_at"],
        party_requests,
        total=len(party_requests),
        label="亮身份",
    )
    world.counts.update(
        users=len(users),
        residents=sum(residents_per_nb),
        memberships=len(memberships),
        approved_members=sum(len(v) for v in world.residents_of.values()),
        households_joined=len({row[6] for row in memberships}),
        party_members=len(party_ids),
        roles=len(roles),
    )
    make_beneficiaries(loader, world)


def make_beneficiaries(loader: Loader, world: World) -> None:
    """Elders registered by their family (the one-tap services' beneficiaries)."""
    r = rng_for(world.seed, "beneficiaries")
    rows = []
    weights = [len(world.residents_of[nb]) for nb in world.neighborhood_ids]
    per_nb = split_total(world.scale.beneficiaries, [w / max(1, sum(weights)) for w in weights])
    bid = 0
    for nb_id, count in zip(world.neighborhood_ids, per_nb, strict=True):
        members = world.residents_of[nb_id]
        owners = r.sample(members, min(count, len(members)))
        world.beneficiaries_of[nb_id] = []
        for owner in owners:
            bid += 1
            relation = r.choice(RELATIONS)
            rows.append(
                (
                    bid,
                    owner,
                    nb_id,
                    _name(r),
                    relation,
                    r.randint(1928, 1955),
                    encrypt(_phone(r)),
                    encrypt(f"{r.randint(1, 60)}号{r.randint(1, 6)}0{r.randint(1, 4)}室"),
                    r.choice(list(Beneficiary.Mobility.values)),
                    encrypt(r.choice(HEALTH)),
                    True,
                    world.start(),
                )
            )
            world.beneficiaries_of[nb_id].append((bid, owner))
    loader.load(
        Beneficiary,
        [
            "id",
            "owner",
            "neighborhood",
            "name",
            "relation",
            "birth_year",
            "phone",
            "address",
            "mobility",
            "health_notes",
            "is_default",
            "created_at",
        ],
        rows,
        total=len(rows),
        label="beneficiaries",
    )
    world.counts["beneficiaries"] = len(rows)
