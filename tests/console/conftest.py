"""Console fixtures: staff personas with console passwords, a logged-in browser-less client."""

from __future__ import annotations

import pytest
from django.test import Client

from residents.models import Role
from tests import factories as f

PASSWORD = "demo12345"


def with_password(user):
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def committee_staff(neighborhood):
    return with_password(f.staff(neighborhood, username="chenjuwei", nickname="陈主任"))


@pytest.fixture
def street_officer(street):
    return with_password(f.officer(street, username="liujiedao", nickname="刘科长"))


@pytest.fixture
def other_officer(other_street):
    return with_password(f.officer(other_street, username="sunjiedao", nickname="孙科长"))


@pytest.fixture
def district_admin(district):
    user = with_password(f.UserFactory(username="qianqu", nickname="钱主任"))
    f.RoleFactory(user=user, region=district, kind=Role.Kind.DISTRICT_ADMIN)
    return user


@pytest.fixture
def moderator(neighborhood):
    user = with_password(f.resident(neighborhood, username="zhoubanzhu", nickname="周版主"))
    f.RoleFactory(user=user, region=neighborhood, kind=Role.Kind.MODERATOR)
    return user


@pytest.fixture
def console_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
