"""Factories for test data. Build what a test needs; no JSON fixtures."""

from __future__ import annotations

import itertools

import factory
from django.utils import timezone

from residents.models import ApiToken, Beneficiary, Membership, Region, Role, User

_codes = itertools.count(1)


def _code(prefix: str) -> str:
    return f"{prefix}{next(_codes):06d}"[-12:].rjust(12, "0")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    level = Region.Level.DISTRICT
    name = factory.Sequence(lambda n: f"测试区{n}")
    code = factory.LazyFunction(lambda: _code("3101130"))


class StreetFactory(DistrictFactory):
    level = Region.Level.STREET
    parent = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"测试街道{n}")
    code = factory.LazyFunction(lambda: _code("3101131"))


class NeighborhoodFactory(DistrictFactory):
    level = Region.Level.NEIGHBORHOOD
    parent = factory.SubFactory(StreetFactory)
    name = factory.Sequence(lambda n: f"测试居委{n}")
    code = factory.LazyFunction(lambda: _code("3101132"))
    households = 1000
    population = 2500


class BuildingGroupFactory(DistrictFactory):
    level = Region.Level.BUILDING_GROUP
    parent = factory.SubFactory(NeighborhoodFactory)
    name = factory.Sequence(lambda n: f"{n}号楼组")
    code = factory.LazyFunction(lambda: _code("3101133"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    openid = factory.Sequence(lambda n: f"openid-test-{n}")
    nickname = factory.Sequence(lambda n: f"居民{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    neighborhood = factory.SubFactory(NeighborhoodFactory)
    building = "1号楼"
    room = factory.Sequence(lambda n: f"{100 + n}室")
    status = Membership.Status.APPROVED
    is_current = True
    decided_at = factory.LazyFunction(timezone.now)


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    user = factory.SubFactory(UserFactory)
    region = factory.SubFactory(NeighborhoodFactory)
    kind = Role.Kind.COMMITTEE_STAFF


class BeneficiaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Beneficiary

    owner = factory.SubFactory(UserFactory)
    neighborhood = factory.SubFactory(NeighborhoodFactory)
    name = factory.Sequence(lambda n: f"老人{n}")
    relation = "母亲"
    birth_year = 1940
    address = "共和新路100弄5号301室"
    health_notes = "高血压，需低盐饮食"


def resident(neighborhood: Region, **kwargs) -> User:
    """An approved resident of `neighborhood`."""
    user = UserFactory(**kwargs)
    MembershipFactory(user=user, neighborhood=neighborhood)
    return user


def staff(neighborhood: Region, **kwargs) -> User:
    user = UserFactory(**kwargs)
    RoleFactory(user=user, region=neighborhood, kind=Role.Kind.COMMITTEE_STAFF)
    return user


def officer(street: Region, **kwargs) -> User:
    user = UserFactory(**kwargs)
    RoleFactory(user=user, region=street, kind=Role.Kind.STREET_OFFICER)
    return user


def token_for(user: User) -> str:
    return ApiToken.issue(user)[1]
