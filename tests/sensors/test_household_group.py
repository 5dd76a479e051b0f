"""A home device's building group comes from the elder's household (residents/households.py): the
building group of the approved membership, in the elder's neighborhood, of the resident who
registered the elder — the same membership that makes someone a 楼组长 — unless an explicit group
is given (the CSV's building_group_code, the admin's field), which wins."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from notifications.models import Notification
from residents.households import household_building_groups
from residents.models import Membership, Role
from sensors.models import Device, HomeConsent
from tests import factories as f
from tests.conftest import Api
from tests.sensors.conftest import event, push

HEADER = "vendor,device_id,kind,region_code,place,place_kind,beneficiary_id,building_group_code\n"


def _consented_elder(owner, neighborhood):
    elder = f.BeneficiaryFactory(neighborhood=neighborhood, owner=owner)
    HomeConsent.objects.create(beneficiary=elder, given_by="family", given_by_name="家属", method="paper",
                               given_at="2026-01-01T00:00:00+08:00")
    return elder


def test_the_household_is_the_registrants_approved_membership_in_the_elders_neighborhood(world, other_neighborhood):
    one = f.BuildingGroupFactory(parent=world.neighborhood, name="1号楼组")
    Membership.objects.filter(user=world.elder.owner).update(building_group=one)
    # A registrant living in another neighborhood says nothing about the elder's building.
    away = f.resident(other_neighborhood)
    Membership.objects.filter(user=away).update(building_group=f.BuildingGroupFactory(parent=other_neighborhood))
    elder_of_away = f.BeneficiaryFactory(neighborhood=world.neighborhood, owner=away)
    # Nor does a membership still pending.
    pending = f.UserFactory()
    f.MembershipFactory(user=pending, neighborhood=world.neighborhood, building_group=one, status=Membership.Status.PENDING)
    elder_of_pending = f.BeneficiaryFactory(neighborhood=world.neighborhood, owner=pending)
    # Nor one without a building group.
    plain = f.resident(world.neighborhood)
    elder_of_plain = f.BeneficiaryFactory(neighborhood=world.neighborhood, owner=plain)

    ids = [world.elder.pk, elder_of_away.pk, elder_of_pending.pk, elder_of_plain.pk]
    assert household_building_groups(ids) == {world.elder.pk: one.pk}


def test_import_derives_a_home_devices_group_and_an_explicit_code_overrides_it(world, tmp_path):
    one = f.BuildingGroupFactory(parent=world.neighborhood, name="1号楼组")
    two = f.BuildingGroupFactory(parent=world.neighborhood, name="2号楼组")
    Membership.objects.filter(user=world.elder.owner).update(building_group=one)
    lone = _consented_elder(f.resident(world.neighborhood), world.neighborhood)  # a household without a building group
    path = tmp_path / "devices.csv"
    path.write_text(HEADER + "".join(line + "\n" for line in (
        f"acme,IR-1,红外人体,310113001001,,,{world.elder.pk},",
        f"acme,PANIC-1,紧急按钮,310113001001,,,{world.elder.pk},{two.code}",  # explicit: wins
        f"acme,IR-2,红外人体,310113001001,,,{lone.pk},",
        "acme,SMK-9,烟感,310113001001,9号车棚,shed,",  # a place: nothing to derive
    )), encoding="utf-8")
    call_command("import_devices", str(path))
    groups = dict(Device.objects.filter(vendor_device_id__in=["IR-1", "PANIC-1", "IR-2", "SMK-9"])
                  .values_list("vendor_device_id", "building_group_id"))
    assert groups == {"IR-1": one.pk, "PANIC-1": two.pk, "IR-2": None, "SMK-9": None}


def test_the_derived_groups_leader_is_told_of_the_homes_alarm(world):
    one = f.BuildingGroupFactory(parent=world.neighborhood, name="1号楼组")
    Membership.objects.filter(user=world.elder.owner).update(building_group=one)
    leader = f.resident(world.neighborhood, nickname="周楼组长")
    Membership.objects.filter(user=leader).update(building_group=one)
    f.RoleFactory(user=leader, region=world.neighborhood, kind=Role.Kind.BUILDING_LEADER)
    upload = HEADER + f"acme,PANIC-1,紧急按钮,310113001001,,,{world.elder.pk},\n"
    response = Api(world.staff).post("/api/v1/sensors/devices/import",
                                     {"file": SimpleUploadedFile("d.csv", upload.encode(), "text/csv")}, format="multipart")
    assert response.status_code in (200, 201), response.content
    assert push(world.integration, [event("p1", "PANIC-1", "alarm")]).status_code == 200
    told = Notification.objects.filter(kind="sensor_alert_leader")
    assert list(told.values_list("recipient_id", flat=True)) == [leader.pk]
    assert told.get().data["building_group"] == "1号楼组"


def test_the_admin_form_derives_an_empty_group_and_keeps_a_chosen_one(world, client):
    one = f.BuildingGroupFactory(parent=world.neighborhood, name="1号楼组")
    two = f.BuildingGroupFactory(parent=world.neighborhood, name="2号楼组")
    Membership.objects.filter(user=world.elder.owner).update(building_group=one)
    client.force_login(f.UserFactory(is_staff=True, is_superuser=True))
    form = {"kind": "infrared", "vendor": "acme", "region": world.neighborhood.pk, "home": world.elder.pk, "state": "normal"}
    for device_id, group in (("IR-1", ""), ("IR-2", two.pk)):
        response = client.post("/admin/sensors/device/add/", {**form, "vendor_device_id": device_id, "building_group": group})
        assert response.status_code == 302, response.content.decode()[:2000]
    assert Device.objects.get(vendor_device_id="IR-1").building_group == one
    assert Device.objects.get(vendor_device_id="IR-2").building_group == two
