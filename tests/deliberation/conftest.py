"""Personas and helpers for the 议事 tests: a neighborhood with a building group, residents
(owners with floor area, one household of several people), staff, and outsiders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone

from deliberation.actions.stages import do_transition_topic
from deliberation.actions.topics import do_create_topic
from deliberation.models import Topic
from images.models import Image
from residents.models import Membership
from tests import factories as f

_rooms = count(1)


def member(
    neighborhood,
    *,
    group=None,
    household: str | None = None,
    owner: bool = False,
    area=None,
    status: str = Membership.Status.APPROVED,
    **user_kwargs,
):
    user = f.UserFactory(**user_kwargs)
    f.MembershipFactory(
        user=user,
        neighborhood=neighborhood,
        building_group=group,
        household_key=household if household is not None else f"hh-{next(_rooms)}",
        is_owner=owner,
        floor_area=Decimal(str(area)) if area is not None else None,
        status=status,
    )
    return user


def vote_rules(**overrides) -> dict:
    rules = {
        "kind": "yes_no_abstain",
        "pass_rule": "simple_majority",
        "closes_at": timezone.now() + timedelta(days=7),
        "quorum_percent": 0,
    }
    rules.update(overrides)
    return rules


def vote_rules_json(**overrides) -> dict:
    rules = vote_rules(**overrides)
    for key in ("opens_at", "closes_at"):
        if key in rules and hasattr(rules[key], "isoformat"):
            rules[key] = rules[key].isoformat()
    return rules


def topic_in(
    neighborhood,
    author,
    *,
    group=None,
    status: str = Topic.Status.PROPOSED,
    staff=None,
    rules=None,
    category: str = "parking",
    title: str = "小区停车位重新划线",
) -> Topic:
    """A topic driven to `status` through the real actions."""
    topic = do_create_topic(
        actor=author,
        neighborhood_id=neighborhood.pk,
        building_group_id=group.pk if group else None,
        category=category,
        title=title,
        body="希望居委牵头讨论。",
    )
    path = [Topic.Status.DISCUSSING, Topic.Status.VOTING]
    for step in path:
        if topic.status == status:
            break
        kwargs = {}
        if step == Topic.Status.VOTING:
            kwargs = {"summary": "讨论小结：多数居民赞成。", "vote_rules": rules or vote_rules()}
        topic = do_transition_topic(topic_id=topic.pk, actor=staff, to=step, **kwargs)
    assert topic.status == status
    return topic


@pytest.fixture(autouse=True)
def standin(wechat_standin):
    """Every topic and reply passes msgSecCheck v2 over real HTTP: the stand-in with a known word
    list (赌博 risky, 上访 review); everything else passes."""
    wechat_standin.control("POST", "words", {"risky": {"赌博": 20006}, "review": {"上访": 21000}})
    return wechat_standin


@pytest.fixture
def group(neighborhood):
    return f.BuildingGroupFactory(parent=neighborhood, name="1号楼组")


@pytest.fixture
def other_group(neighborhood):
    return f.BuildingGroupFactory(parent=neighborhood, name="2号楼组")


@pytest.fixture
def staff(neighborhood):
    return f.staff(neighborhood, nickname="陈主任")


@pytest.fixture
def zhangsan(neighborhood, group):
    return member(neighborhood, group=group, household="5-301", owner=True, area=90, nickname="张三")


@pytest.fixture
def lisi(neighborhood, group):
    return member(neighborhood, group=group, household="5-302", owner=True, area=80, nickname="李四")


@pytest.fixture
def wangwu(neighborhood, group):
    return member(neighborhood, group=group, status=Membership.Status.PENDING, nickname="王五")


@pytest.fixture
def zhaoliu(other_neighborhood):
    return member(other_neighborhood, nickname="赵六")


@pytest.fixture
def neighbor_in_other_group(neighborhood, other_group):
    return member(neighborhood, group=other_group, nickname="钱七")


def make_image(owner, status=Image.Status.PASSED) -> Image:
    """An image row as the shared pipeline leaves it (the upload itself is tested in tests/community)."""
    return Image.objects.create(
        owner=owner,
        file=f"images/test/{owner.pk}-{next(_rooms)}.jpg",
        thumbnail="images/test/t.jpg",
        format="jpeg",
        width=10,
        height=10,
        size_bytes=100,
        status=status,
    )
