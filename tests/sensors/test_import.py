"""The registry's bulk import from a vendor CSV: all or nothing, every bad row reported."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from sensors.models import Device, Place
from tests import factories as f
from tests.conftest import Api, assert_error

HEADER = "vendor,device_id,kind,region_code,place,place_kind,beneficiary_id\n"


def _csv(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def test_a_good_file_imports_every_row_with_places_and_consented_homes(world, tmp_path):
    path = tmp_path / "devices.csv"
    path.write_text("\ufeff" + _csv(
        "acme,SMK-10,烟感,310113001001,5号车棚,非机动车棚,",
        "acme,SMK-11,smoke,310113001001,5号车棚,shed,",
        f"acme,IR-10,红外人体,310113001001,,,{world.elder.pk}",
    ), encoding="utf-8")
    call_command("import_devices", str(path))
    shed = Place.objects.get(name="5号车棚")
    assert shed.kind == Place.Kind.SHED and shed.devices.count() == 2
    infrared = Device.objects.get(vendor_device_id="IR-10")
    assert (infrared.kind, infrared.home, infrared.place, infrared.region) == ("infrared", world.elder, None, world.neighborhood)


def test_one_bad_row_imports_nothing_and_every_error_is_listed(world, tmp_path):
    unconsented = f.BeneficiaryFactory(neighborhood=world.neighborhood)
    path = tmp_path / "devices.csv"
    path.write_text(_csv(
        "acme,NEW-1,烟感,310113001001,6号车棚,,",  # good
        "acme,SMK-1,烟感,310113001001,6号车棚,,",  # already registered
        "acme,NEW-2,雷达,310113001001,6号车棚,,",  # unknown kind
        "acme,NEW-3,烟感,310113001000,6号车棚,,",  # a street, not a neighborhood
        f"acme,NEW-4,门磁,310113001001,,,{unconsented.pk}",  # no consent recorded
        "acme,NEW-5,烟感,310113001001,,,",  # neither place nor home
        "acme,NEW-1,烟感,310113001001,6号车棚,,",  # twice in the file
        ",NEW-6,烟感,310113001001,6号车棚,,",  # vendor missing
    ), encoding="utf-8")
    before = Device.objects.count()
    with pytest.raises(CommandError):
        call_command("import_devices", str(path))
    assert Device.objects.count() == before and not Place.objects.filter(name="6号车棚").exists()
    response = Api(world.staff).post("/api/v1/sensors/devices/import",
                                     {"file": SimpleUploadedFile("d.csv", path.read_bytes(), "text/csv")}, format="multipart")
    error = assert_error(response, 422, "import_rows_invalid")
    assert [(e["line"], e["column"]) for e in error["detail"]["errors"]] == [
        (3, "device_id"), (4, "kind"), (5, "region_code"), (6, "beneficiary_id"), (7, "place"), (8, "device_id"), (9, "vendor"),
    ]
    assert Device.objects.count() == before


def test_staff_upload_only_into_their_own_neighborhoods(world, other_neighborhood):
    text = _csv("acme,NEW-1,烟感,310113002001,车棚,,")
    upload = SimpleUploadedFile("d.csv", text.encode(), "text/csv")
    error = assert_error(Api(world.staff).post("/api/v1/sensors/devices/import", {"file": upload}, format="multipart"), 422)
    assert error["detail"]["errors"][0]["reason"] == "无权导入该居委/村的设备"
    upload = SimpleUploadedFile("d.csv", _csv("acme,NEW-1,烟感,310113001001,车棚,,").encode(), "text/csv")
    response = Api(world.staff).post("/api/v1/sensors/devices/import", {"file": upload}, format="multipart")
    assert response.status_code == 201 and response.json() == {"created": 1}


def test_missing_columns_are_refused(world):
    from core.errors import Unprocessable
    from sensors.actions.devices import do_import_devices

    with pytest.raises(Unprocessable) as raised:
        do_import_devices("vendor,kind\nacme,smoke\n", actor=None)
    assert raised.value.code == "import_columns_missing"


def test_building_group_and_heartbeat_timeout_columns(world, other_neighborhood, tmp_path):
    group = f.BuildingGroupFactory(parent=world.neighborhood, name="1号楼组")
    elsewhere = f.BuildingGroupFactory(parent=other_neighborhood, name="9号楼组")
    header = "vendor,device_id,kind,region_code,place,place_kind,beneficiary_id,building_group_code,heartbeat_timeout_minutes\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "".join(line + "\n" for line in (
        f"acme,BG-1,烟感,310113001001,楼道,,,{elsewhere.code},",  # another neighborhood's group
        f"acme,BG-2,烟感,310113001001,楼道,,,{world.neighborhood.code},",  # not a building group
        "acme,BG-3,烟感,310113001001,楼道,,,,0",  # no zero timeout
        "acme,BG-4,烟感,310113001001,楼道,,,,九十",
    )), encoding="utf-8")
    response = Api(world.staff).post("/api/v1/sensors/devices/import",
                                     {"file": SimpleUploadedFile("d.csv", bad.read_bytes(), "text/csv")}, format="multipart")
    errors = assert_error(response, 422, "import_rows_invalid")["detail"]["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (2, "building_group_code"), (3, "building_group_code"), (4, "heartbeat_timeout_minutes"), (5, "heartbeat_timeout_minutes"),
    ]
    assert errors[0]["reason"] == "须为该居委/村下楼组的12位区划代码"
    good = tmp_path / "good.csv"
    good.write_text(header + f"acme,BG-5,紧急按钮,310113001001,,,{world.elder.pk},{group.code},90\n"
                    + "acme,BG-6,烟感,310113001001,楼道,,,,\n", encoding="utf-8")
    call_command("import_devices", str(good))
    five, six = Device.objects.get(vendor_device_id="BG-5"), Device.objects.get(vendor_device_id="BG-6")
    assert (five.building_group, five.heartbeat_timeout_minutes) == (group, 90)
    assert (six.building_group, six.heartbeat_timeout_minutes) == (None, None)
