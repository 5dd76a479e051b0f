"""The registry's bulk import from the CSV a vendor delivers (`manage.py import_devices` and
`POST /api/v1/sensors/devices/import`; docs/sensors.md has the columns).

Every row is checked first and every error reported with its line number; only a file with no
error is written, in one transaction, so nothing is ever half imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.db import transaction

from core.errors import Unprocessable
from residents.access import is_staff_for
from residents.households import household_building_groups
from residents.models import Beneficiary, Region, User
from sensors.models import Device, HomeConsent, Place

COLUMNS = ("vendor", "device_id", "kind", "region_code", "place", "place_kind", "beneficiary_id", "building_group_code",
           "heartbeat_timeout_minutes")
REQUIRED = ("vendor", "device_id", "kind", "region_code")
MAX_ROWS = 20_000
MAX_CSV_BYTES = 2 * 1024 * 1024  # the upload's cap (the API's and the console's)
MAX_HEARTBEAT_MINUTES = 7 * 24 * 60
_KIND_BY_LABEL = {label: value for value, label in Device.Kind.choices}
_PLACE_KIND_BY_LABEL = {label: value for value, label in Place.Kind.choices}


@dataclass(frozen=True)
class DeviceRow:
    line: int
    vendor: str
    device_id: str
    kind: str
    neighborhood: Region
    place: str
    place_kind: str
    beneficiary: Beneficiary | None
    building_group: Region | None = None
    heartbeat_timeout_minutes: int | None = None


def _kind(raw: str, by_label: dict[str, str], values: list[str]) -> str | None:
    raw = raw.strip()
    return raw if raw in values else by_label.get(raw)


def _home_id(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def check_device_rows(text: str, *, actor: User | None) -> list[DeviceRow]:
    """The rows, or Unprocessable `import_rows_invalid` listing every bad row (line, column, reason).
    `actor` None is the command line (an operator); a staff caller may import only into
    neighborhoods they are staff of."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise Unprocessable("import_columns_missing", f"缺少列：{', '.join(missing)}", columns=list(COLUMNS))
    raw_rows = list(reader)
    if len(raw_rows) > MAX_ROWS:
        raise Unprocessable("import_too_many_rows", f"一次最多导入 {MAX_ROWS} 行", max_rows=MAX_ROWS)
    codes = {(r.get(c) or "").strip() for r in raw_rows for c in ("region_code", "building_group_code")}
    regions = {r.code: r for r in Region.objects.filter(code__in=codes - {""})}
    existing = set(
        Device.objects.filter(vendor__in={(r.get("vendor") or "").strip() for r in raw_rows})
        .values_list("vendor", "vendor_device_id")
    )
    home_ids = {_home_id(r.get("beneficiary_id") or "") for r in raw_rows} - {None}
    homes = {b.pk: b for b in Beneficiary.objects.filter(pk__in=home_ids, deleted_at__isnull=True)}
    consented = set(HomeConsent.objects.filter(beneficiary_id__in=homes, withdrawn_at__isnull=True).values_list("beneficiary_id", flat=True))
    # A home device without an explicit building_group_code goes in the elder's household's.
    household_groups = household_building_groups(homes)
    regions.update({r.code: r for r in Region.objects.filter(pk__in=set(household_groups.values()))})
    regions_by_id = {r.pk: r for r in regions.values()}
    errors: list[dict] = []
    rows: list[DeviceRow] = []
    seen: set[tuple[str, str]] = set()
    for line, raw in enumerate(raw_rows, start=2):  # line 1 is the header
        value = {c: (raw.get(c) or "").strip() for c in COLUMNS}

        def error(column: str, reason: str) -> None:
            errors.append({"line": line, "column": column, "reason": reason})  # noqa: B023 (used at once)

        before = len(errors)
        for column in REQUIRED:
            if not value[column]:
                error(column, "不能为空")
        if len(errors) > before:
            continue
        if len(value["vendor"]) > 32 or len(value["device_id"]) > 64:
            error("device_id", "厂商代码最长32字、设备编号最长64字")
        kind = _kind(value["kind"], _KIND_BY_LABEL, Device.Kind.values)
        if kind is None:
            error("kind", f"未知设备类型「{value['kind']}」")
        key = (value["vendor"], value["device_id"])
        if key in existing:
            error("device_id", "设备已登记")
        elif key in seen:
            error("device_id", "文件中重复")
        seen.add(key)
        region = regions.get(value["region_code"])
        if region is None or region.level != Region.Level.NEIGHBORHOOD:
            error("region_code", "须为居委/村的12位区划代码")
        elif actor is not None and not is_staff_for(actor, region.pk):
            error("region_code", "无权导入该居委/村的设备")
        place_kind = _kind(value["place_kind"] or Place.Kind.OTHER, _PLACE_KIND_BY_LABEL, Place.Kind.values)
        if place_kind is None:
            error("place_kind", f"未知场所类型「{value['place_kind']}」")
        home = None
        if bool(value["place"]) == bool(value["beneficiary_id"]):
            error("place", "场所（place）与老人（beneficiary_id）须填且只填一项")
        elif value["beneficiary_id"]:
            home = homes.get(_home_id(value["beneficiary_id"]))
            if home is None or (region is not None and home.neighborhood_id != region.pk):
                error("beneficiary_id", "老人不存在或不在该居委/村")
                home = None
            elif home.pk not in consented:
                error("beneficiary_id", "尚未登记老人或家属的同意，不能绑定居家设备")
        elif len(value["place"]) > 64:
            error("place", "场所名称最长64字")
        group = None
        if value["building_group_code"]:
            group = regions.get(value["building_group_code"])
            if group is None or group.level != Region.Level.BUILDING_GROUP or (region is not None and group.parent_id != region.pk):
                error("building_group_code", "须为该居委/村下楼组的12位区划代码")
        elif home is not None:
            group = regions_by_id.get(household_groups.get(home.pk))
        timeout = None
        if value["heartbeat_timeout_minutes"]:
            raw_minutes = value["heartbeat_timeout_minutes"]
            timeout = int(raw_minutes) if raw_minutes.isdigit() and len(raw_minutes) < 7 else 0
            if not 1 <= timeout <= MAX_HEARTBEAT_MINUTES:
                error("heartbeat_timeout_minutes", f"心跳超时须为 1-{MAX_HEARTBEAT_MINUTES} 的整数（分钟）")
        if len(errors) == before:
            rows.append(DeviceRow(line, value["vendor"], value["device_id"], kind, region, value["place"], place_kind, home,
                                  group, timeout))
    if errors:
        raise Unprocessable("import_rows_invalid", f"{len({e['line'] for e in errors})} 行有误，未导入任何设备", errors=errors)
    return rows


def do_import_devices(text: str, *, actor: User | None) -> int:
    """Check every row, then write them all in one transaction; the number of devices created."""
    rows = check_device_rows(text, actor=actor)
    with transaction.atomic():
        places: dict[tuple[int, str], Place] = {}
        devices = []
        for row in rows:
            place = None
            if row.place:
                place = places.get((row.neighborhood.pk, row.place))
                if place is None:
                    place, _ = Place.objects.get_or_create(
                        region=row.neighborhood, name=row.place, defaults={"kind": row.place_kind}
                    )
                    places[(row.neighborhood.pk, row.place)] = place
            devices.append(Device(
                kind=row.kind, vendor=row.vendor, vendor_device_id=row.device_id, region=row.neighborhood,
                home=row.beneficiary, place=place, building_group=row.building_group,
                heartbeat_timeout_minutes=row.heartbeat_timeout_minutes,
            ))
        Device.objects.bulk_create(devices, batch_size=1000)
    return len(devices)
