"""The demo district (README.md, "Logging in as a demo persona"): regions, personas, homes, roles, one elder.

Idempotent: regions are found by code, people by openid, everything else by its natural key.
"""

from __future__ import annotations

from typing import TextIO

from django.utils import timezone

from core.crypto import blind_index
from residents.models import (
    Beneficiary,
    Membership,
    PartyIdentityRequest,
    PersonalInfoConsent,
    Region,
    Role,
    User,
)

STAFF_PASSWORD = "demo12345"
ADMIN_PASSWORD = "admin12345"
CONSENT_VERSION = "2024-01"

# (code, name, level, parent code, households, population)
REGIONS = [
    ("310113000000", "宝山区", Region.Level.DISTRICT, None, 0, 0),
    ("310113003000", "友谊路街道", Region.Level.STREET, "310113000000", 0, 0),
    ("310113003001", "宝林一村居委会", Region.Level.NEIGHBORHOOD, "310113003000", 3200, 7800),
    ("310113003101", "1号楼组", Region.Level.BUILDING_GROUP, "310113003001", 0, 0),
    ("310113003102", "2号楼组", Region.Level.BUILDING_GROUP, "310113003001", 0, 0),
    ("310113003103", "3号楼组", Region.Level.BUILDING_GROUP, "310113003001", 0, 0),
    ("310113003002", "宝林二村居委会", Region.Level.NEIGHBORHOOD, "310113003000", 2800, 6500),
    ("310113003201", "1号楼组", Region.Level.BUILDING_GROUP, "310113003002", 0, 0),
    ("310113003003", "盘古路居委会", Region.Level.NEIGHBORHOOD, "310113003000", 2100, 5200),
    ("310113004000", "吴淞街道", Region.Level.STREET, "310113000000", 0, 0),
    ("310113004001", "塘后路居委会", Region.Level.NEIGHBORHOOD, "310113004000", 2600, 6100),
    ("310113004101", "1号楼组", Region.Level.BUILDING_GROUP, "310113004001", 0, 0),
    ("310113004002", "淞滨路居委会", Region.Level.NEIGHBORHOOD, "310113004000", 1900, 4600),
    ("310113004003", "长浜村村委会", Region.Level.NEIGHBORHOOD, "310113004000", 900, 2300),
]

# 在册党员 per neighborhood (the party roll, the 亮身份率 denominator), by code.
PARTY_ROLL = {
    "310113003001": 180,
    "310113003002": 150,
    "310113003003": 110,
    "310113004001": 140,
    "310113004002": 95,
    "310113004003": 60,
}

# openid -> (name, console username or None)
PERSONAS = {
    "zhangsan": ("张三", None),
    "lisi": ("李四", None),
    "wangwu": ("王五", None),
    "zhaoliu": ("赵六", None),
    # A moderator who is not staff: logs in to the console's moderation screens only.
    "zhoubanzhu": ("周版主", "zhoubanzhu"),
    "chenjuwei": ("陈主任", "chenjuwei"),
    "liujiedao": ("刘科长", "liujiedao"),
    "sunjiedao": ("孙科长", "sunjiedao"),
    "qianqu": ("钱主任", "qianqu"),
    "wuzhuli": ("吴师傅", "wuzhuli"),
}

# Bound phone numbers (as if each persona had pressed the getPhoneNumber button). Stored
# encrypted by User.phone; tests/trust/test_demo_dump.py searches a dump for these.
PHONES = {openid: f"138001380{i:02d}" for i, openid in enumerate(PERSONAS, start=1)}
ELDER_PHONE = "13900139001"  # 王阿婆's own phone
ELDER_ADDRESS = "宝山区友谊路宝林一村5号楼301室"
ELDER_HEALTH_NOTES = "高血压，行走需搀扶"

BAOLIN1, TANGHOU = "310113003001", "310113004001"

# openid -> (neighborhood code, building group code, building, room, status)
HOMES = {
    "zhangsan": (BAOLIN1, "310113003101", "5号楼", "301室", Membership.Status.APPROVED),
    "lisi": (BAOLIN1, "310113003102", "12号楼", "502室", Membership.Status.APPROVED),
    "wangwu": (BAOLIN1, "310113003103", "20号楼", "101室", Membership.Status.PENDING),
    "zhaoliu": (TANGHOU, "310113004101", "3号楼", "202室", Membership.Status.APPROVED),
    "zhoubanzhu": (BAOLIN1, "310113003101", "2号楼", "401室", Membership.Status.APPROVED),
}

# (openid, region code, kind, title)
ROLES = [
    ("lisi", BAOLIN1, Role.Kind.PARTY_MEMBER, "宝林一村党总支"),
    ("zhoubanzhu", BAOLIN1, Role.Kind.MODERATOR, "社区通版主"),
    ("zhoubanzhu", BAOLIN1, Role.Kind.BUILDING_LEADER, "1号楼组楼组长"),
    ("chenjuwei", BAOLIN1, Role.Kind.COMMITTEE_STAFF, "居委会主任"),
    ("liujiedao", "310113003000", Role.Kind.STREET_OFFICER, "自治办科长"),
    ("sunjiedao", "310113004000", Role.Kind.STREET_OFFICER, "自治办科长"),
    ("qianqu", "310113000000", Role.Kind.DISTRICT_ADMIN, "区民政局"),
    ("wuzhuli", "310113003000", Role.Kind.SERVICE_PROVIDER, "友谊路助老服务社"),
]


def seed(stdout: TextIO) -> None:
    regions: dict[str, Region] = {}
    for code, name, level, parent_code, households, population in REGIONS:
        region, _ = Region.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level,
                "parent": regions[parent_code] if parent_code else None,
                "households": households,
                "population": population,
                "registered_party_members": PARTY_ROLL.get(code, 0),
            },
        )
        regions[code] = region

    people: dict[str, User] = {}
    for openid, (name, console_username) in PERSONAS.items():
        user, _ = User.objects.get_or_create(
            openid=openid,
            defaults={"username": console_username or f"wx_{openid}", "nickname": name, "unionid": f"union-{openid}"},
        )
        if console_username and user.username != console_username:
            # A persona that got a console login later was created as wx_<openid> by an earlier seed.
            if not User.objects.filter(username=console_username).exists():
                user.username = console_username
                user.save(update_fields=["username"])
        if console_username and not user.check_password(STAFF_PASSWORD):
            user.set_password(STAFF_PASSWORD)
            user.save(update_fields=["password"])
        if not user.phone:
            # Only when none is bound: a number the persona bound since is theirs to keep.
            user.phone = PHONES[openid]
            user.phone_bound_at = timezone.now()
            user.save(update_fields=["phone", "phone_bound_at"])
        PersonalInfoConsent.objects.get_or_create(
            user=user, purpose=PersonalInfoConsent.Purpose.PHONE, withdrawn_at=None,
            defaults={"text_version": CONSENT_VERSION},
        )
        people[openid] = user

    now = timezone.now()
    for openid, (hood_code, group_code, building, room, status) in HOMES.items():
        neighborhood = regions[hood_code]
        approved = status == Membership.Status.APPROVED
        Membership.objects.get_or_create(
            user=people[openid],
            neighborhood=neighborhood,
            status=status,
            defaults={
                "building_group": regions[group_code],
                "building": building,
                "room": room,
                "household_key": blind_index(f"{neighborhood.pk}|{building}|{room}", purpose="household"),
                "is_current": approved,
                "joined_via": "qrcode",
                "decided_by": people["chenjuwei"] if approved and hood_code == BAOLIN1 else None,
                "decided_at": now if approved else None,
            },
        )

    for openid, code, kind, title in ROLES:
        Role.objects.get_or_create(
            user=people[openid], region=regions[code], kind=kind, revoked_at=None, defaults={"title": title}
        )
    PartyIdentityRequest.objects.get_or_create(
        user=people["lisi"],
        neighborhood=regions[BAOLIN1],
        status=PartyIdentityRequest.Status.APPROVED,
        defaults={"party_branch": "宝林一村党总支", "joined_party_year": 1998, "decided_by": people["chenjuwei"], "decided_at": now},
    )

    zhangsan = people["zhangsan"]
    for purpose in (PersonalInfoConsent.Purpose.ADDRESS, PersonalInfoConsent.Purpose.HEALTH):
        PersonalInfoConsent.objects.get_or_create(
            user=zhangsan, purpose=purpose, withdrawn_at=None, defaults={"text_version": CONSENT_VERSION}
        )
    Beneficiary.objects.get_or_create(
        owner=zhangsan,
        name="王阿婆",
        deleted_at=None,
        defaults={
            "neighborhood": regions[BAOLIN1],
            "relation": "母亲",
            "birth_year": 1938,
            "phone": ELDER_PHONE,
            "address": ELDER_ADDRESS,
            "mobility": Beneficiary.Mobility.ASSISTED,
            "health_notes": ELDER_HEALTH_NOTES,
            "is_default": True,
        },
    )

    admin = User.objects.filter(username="admin").first()
    if admin is None:
        User.objects.create_superuser("admin", password=ADMIN_PASSWORD, nickname="系统管理员")
    stdout.write(f"residents: {len(regions)} 个区域, {len(people)} 位演示人物, 管理员 admin / {ADMIN_PASSWORD}\n")
