"""The demo seed builds the organization and a dozen requests, and running it twice changes nothing."""

from __future__ import annotations

import io

from residents.models import Region, Role
from services import demo
from services.models import ProviderOrganization, ServiceRequest
from tests import factories as f


def test_demo_seed_is_complete_and_idempotent(db):
    district = f.DistrictFactory(code="310113000000")
    street = f.StreetFactory(parent=district, code="310113003000", name="友谊路街道")
    neighborhood = f.NeighborhoodFactory(parent=street, code="310113003001", name="宝林一村居委会")
    zhangsan = f.resident(neighborhood, openid="zhangsan", nickname="张三")
    f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood, name="王阿婆", birth_year=1938, is_default=True)
    f.resident(neighborhood, openid="lisi")
    f.resident(neighborhood, openid="zhoubanzhu")
    f.staff(neighborhood, openid="chenjuwei")
    f.officer(street, openid="liujiedao")
    f.UserFactory(openid="wuzhuli", nickname="吴师傅")
    demo.seed(io.StringIO())
    demo.seed(io.StringIO())
    org = ProviderOrganization.objects.get(name="友谊路助老服务社")
    assert list(org.members.values_list("openid", flat=True)) == ["wuzhuli"]
    assert Role.objects.filter(user__openid="wuzhuli", kind="service_provider", region=street).count() == 1
    requests = ServiceRequest.objects.all()
    assert requests.count() == 12
    assert set(requests.values_list("status", flat=True)) == {
        "submitted", "accepted", "assigned", "in_service", "completed", "rated", "rejected", "cancelled"}
    assert requests.filter(status="rated").count() == 4
    assert requests.filter(escalated_at__isnull=False).count() == 1
    assert Region.objects.filter(code="310113003000").exists()


def test_demo_seed_skips_without_personas(db):
    out = io.StringIO()
    demo.seed(out)
    assert "跳过" in out.getvalue() and not ProviderOrganization.objects.exists()
