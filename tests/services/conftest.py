"""A small world for the services stories: one street with two neighborhoods, another street,
an elder registered by her son, a provider organization, staff and officers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from residents.models import Role
from services.models import ProviderOrganization, ServiceItem
from tests import factories as f


@dataclass
class World:
    street: object
    neighborhood: object
    other_neighborhood: object
    other_street: object
    son: object  # 张三
    mother: object  # 王阿婆, his default beneficiary
    neighbor: object  # same building, same neighborhood
    staff: object  # committee staff of the neighborhood
    officer: object  # officer of the street
    other_officer: object  # officer of the other street
    outsider: object  # resident of the other street
    org: object
    worker: object  # staff of org
    other_org: object
    other_worker: object


@pytest.fixture(autouse=True)
def standin(wechat_standin):
    """Every services story reaches WeChat (the content check of notes and comments) through the
    stand-in over real HTTP: 赌博 is risky, 上访 needs review, anything else passes."""
    wechat_standin.control("POST", "words", {"risky": {"赌博": 20006}, "review": {"上访": 21000}})
    return wechat_standin


@pytest.fixture
def world(db, street, other_street, neighborhood, other_neighborhood) -> World:
    son = f.resident(neighborhood, nickname="张三")
    mother = f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, name="王阿婆", birth_year=1938, is_default=True,
                                  address="宝林一村5号楼301室", health_notes="高血压，需低盐饮食")
    org = ProviderOrganization.objects.create(name="友谊路助老服务社", street=street, phone="021-56000000")
    worker = f.UserFactory(nickname="吴师傅")
    org.members.add(worker)
    other_org = ProviderOrganization.objects.create(name="吴淞助老服务社", street=other_street)
    other_worker = f.UserFactory(nickname="别家师傅")
    other_org.members.add(other_worker)
    ServiceItem.objects.filter(code__in=["meal-delivery", "medical-escort"]).update(default_provider=org)
    return World(
        street=street, neighborhood=neighborhood, other_neighborhood=other_neighborhood, other_street=other_street,
        son=son, mother=mother, neighbor=f.resident(neighborhood, nickname="邻居"),
        staff=f.staff(neighborhood, nickname="陈主任"), officer=f.officer(street, nickname="刘科长"),
        other_officer=f.officer(other_street, nickname="孙科长"), outsider=f.resident(other_neighborhood, nickname="赵六"),
        org=org, worker=worker, other_org=other_org, other_worker=other_worker,
    )


def item(code: str) -> ServiceItem:
    return ServiceItem.objects.get(code=code)


MEAL = {"diet": "低盐", "time_slot": "午餐"}


def volunteer(street, **kwargs):
    user = f.UserFactory(**kwargs)
    f.RoleFactory(user=user, region=street, kind=Role.Kind.SERVICE_PROVIDER)
    return user
