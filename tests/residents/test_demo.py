"""`manage.py load_demo` builds the demo district of DEMO.md, and running it twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from residents import access
from residents.models import Beneficiary, Membership, Region, Role, User

pytestmark = pytest.mark.django_db


def _load() -> None:
    call_command("load_demo", stdout=StringIO())


def test_load_demo_twice_makes_one_copy_of_everything():
    _load()
    counts = (Region.objects.count(), User.objects.count(), Membership.objects.count(), Role.objects.count(), Beneficiary.objects.count())
    _load()
    assert counts == (
        Region.objects.count(), User.objects.count(), Membership.objects.count(), Role.objects.count(), Beneficiary.objects.count()
    )
    assert Region.objects.count() == 14
    assert Region.objects.filter(level="neighborhood").count() == 6


def test_demo_personas_have_the_homes_and_roles_of_the_story():
    _load()
    baolin1 = Region.objects.get(code="310113003001")
    tanghou = Region.objects.get(code="310113004001")
    zhangsan = User.objects.get(openid="zhangsan")
    assert access.is_member(zhangsan, baolin1.pk)
    elder = Beneficiary.objects.get(owner=zhangsan)
    assert (elder.name, elder.birth_year, elder.is_default) == ("王阿婆", 1938, True)
    assert access.profile(User.objects.get(openid="lisi")).has_role("party_member", baolin1.pk)
    assert baolin1.pk in access.profile(User.objects.get(openid="wangwu")).pending_in
    assert access.is_member(User.objects.get(openid="zhaoliu"), tanghou.pk)
    zhou = access.profile(User.objects.get(openid="zhoubanzhu"))
    assert zhou.has_role("moderator", baolin1.pk) and zhou.has_role("building_leader", baolin1.pk)
    chen = User.objects.get(username="chenjuwei")
    assert chen.openid == "chenjuwei" and chen.check_password("demo12345")
    assert access.is_staff_for(chen, baolin1.pk) and not access.is_staff_for(chen, tanghou.pk)
    assert access.is_staff_for(User.objects.get(username="liujiedao"), baolin1.pk)
    assert not access.is_staff_for(User.objects.get(username="liujiedao"), tanghou.pk)
    assert access.is_staff_for(User.objects.get(username="sunjiedao"), tanghou.pk)
    assert access.profile(User.objects.get(username="qianqu")).is_district_admin
    assert access.profile(User.objects.get(openid="wuzhuli")).has_role("service_provider")
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin12345")


def test_demo_persona_logs_in_with_the_curl_convention(anon, wechat_standin):
    _load()
    response = anon.post("/api/v1/auth/wechat", {"code": "demo-zhangsan-curl1"})
    assert response.status_code == 200
    assert response.json()["user"]["id"] == User.objects.get(openid="zhangsan").pk


def test_grant_role_command_bootstraps_a_district_admin():
    from django.core.management.base import CommandError

    from residents.models import Region as R

    district = R.objects.create(level="district", name="宝山区", code="310113000000")
    out = StringIO()
    call_command("grant_role", "root-admin", "310113000000", "district_admin", "--password", "pw-12345678", stdout=out)
    call_command("grant_role", "root-admin", "310113000000", "district_admin", stdout=out)
    user = User.objects.get(username="root-admin")
    assert user.check_password("pw-12345678")
    assert Role.objects.filter(user=user, region=district, kind="district_admin").count() == 1
    with pytest.raises(CommandError):
        call_command("grant_role", "x", "310113000000", "committee_staff", stdout=out)
    with pytest.raises(CommandError):
        call_command("grant_role", "x", "999999999999", "district_admin", stdout=out)
