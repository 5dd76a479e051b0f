"""Demo data for 物联感知 (docs/sensors.md, The device stand-in): a vendor integration `demo`
(secret DEMO_SECRET, dev only), two consented homes in 宝林一村 — 王阿婆 (an ordinary day) and
李老伯 (the elder who stops moving) — each with a 红外人体 and a 门磁 sensor and 王阿婆 with a
紧急按钮, and smoke sensors in e-bike sheds of 宝林一村 and 唐侯 (one of them with a dying
battery). `manage.py sensor_standin` drives them.

Idempotent: everything is matched by its natural key. Needs the residents demo first.
"""

from __future__ import annotations

from django.utils import timezone

from residents.models import Beneficiary, Region, User
from sensors.models import Device, HomeConsent, Integration, Place

VENDOR = "demo"
DEMO_SECRET = "demo-sensor-secret-not-for-production"
BAOLIN1, TANGHOU = "310113003001", "310113004001"

# (device id, kind, neighborhood code, home elder name or None, place name or None)
DEVICES = [
    ("DEMO-IR-WANG", Device.Kind.INFRARED, BAOLIN1, "王阿婆", None),
    ("DEMO-DOOR-WANG", Device.Kind.DOOR, BAOLIN1, "王阿婆", None),
    ("DEMO-PANIC-WANG", Device.Kind.PANIC, BAOLIN1, "王阿婆", None),
    ("DEMO-IR-LI", Device.Kind.INFRARED, BAOLIN1, "李老伯", None),
    ("DEMO-DOOR-LI", Device.Kind.DOOR, BAOLIN1, "李老伯", None),
    ("DEMO-SMK-1", Device.Kind.SMOKE, BAOLIN1, None, "3号非机动车棚"),
    ("DEMO-SMK-2", Device.Kind.SMOKE, BAOLIN1, None, "7号非机动车棚"),
    ("DEMO-SMK-3", Device.Kind.SMOKE, TANGHOU, None, "1号非机动车棚"),
]


def _elder(name: str, owner: User, neighborhood: Region) -> Beneficiary:
    elder = Beneficiary.objects.filter(name=name, owner=owner, deleted_at=None).first()
    if elder is None:
        elder = Beneficiary.objects.create(
            owner=owner, name=name, neighborhood=neighborhood, relation="父亲", birth_year=1936,
            phone="13900139002", address="宝林一村12号楼502室", mobility=Beneficiary.Mobility.INDEPENDENT,
        )
    return elder


def seed(stdout) -> None:
    regions = {r.code: r for r in Region.objects.filter(code__in=(BAOLIN1, TANGHOU))}
    people = {u.openid: u for u in User.objects.filter(openid__in=("zhangsan", "lisi", "chenjuwei"))}
    wang = Beneficiary.objects.filter(name="王阿婆", deleted_at=None).first()
    if len(regions) < 2 or len(people) < 3 or wang is None:
        stdout.write("sensors: 未找到演示区域或人物（请先载入 residents 演示数据），跳过\n")
        return
    Integration.objects.get_or_create(vendor=VENDOR, defaults={"name": "演示物联平台", "secret": DEMO_SECRET})
    elders = {"王阿婆": wang, "李老伯": _elder("李老伯", people["lisi"], regions[BAOLIN1])}
    for name, elder in elders.items():
        HomeConsent.objects.get_or_create(
            beneficiary=elder, withdrawn_at=None,
            defaults={"given_by": HomeConsent.GivenBy.FAMILY, "given_by_name": "张三" if name == "王阿婆" else "李四",
                      "method": HomeConsent.Method.APP, "given_at": timezone.now(), "recorded_by": people["chenjuwei"]},
        )
    for device_id, kind, code, elder_name, place_name in DEVICES:
        place = None
        if place_name:
            place, _ = Place.objects.get_or_create(region=regions[code], name=place_name, defaults={"kind": Place.Kind.SHED})
        Device.objects.get_or_create(
            vendor=VENDOR, vendor_device_id=device_id,
            defaults={"kind": kind, "region": regions[code], "place": place,
                      "home": elders[elder_name] if elder_name else None},
        )
    stdout.write(f"sensors: 演示物联平台（厂商 {VENDOR}）, {len(DEVICES)} 个感知设备\n")
