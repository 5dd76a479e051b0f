"""The shared text check (moderation.content) over real HTTP against the stand-in."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from moderation import content
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def words(wechat_standin):
    wechat_standin.control("POST", "words", {"risky": {"赌博": 20006}, "review": {"上访": 21000}})
    return wechat_standin


def test_each_verdict_maps_to_a_status(words):
    author = f.UserFactory()
    assert content.check_text(user=author, content="橘猫走失", scene=content.SCENE_FORUM).status == "published"
    assert content.check_text(user=author, content="一起上访", scene=content.SCENE_FORUM).status == "pending_review"
    with pytest.raises(InvalidInput) as rejected:
        content.check_text(user=author, content="来赌博", scene=content.SCENE_FORUM)
    assert rejected.value.code == "content_rejected"
    assert content.recheck_text(user=author, content="来赌博", scene=content.SCENE_FORUM) is None


def test_text_longer_than_one_call_is_checked_to_the_end(words):
    author = f.UserFactory()
    long_text = "好" * 3000 + "赌博"
    with pytest.raises(InvalidInput):
        content.check_text(user=author, content=long_text, scene=content.SCENE_FORUM)
    held = content.check_text(user=author, content="好" * 2600 + "上访", scene=content.SCENE_FORUM, title="标题")
    assert held.status == "pending_review" and held.trace_id


def test_unreachable_wechat_leaves_text_unchecked_and_no_openid_needs_a_person(words):
    words.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "errcode", "errcode": -1})
    assert content.check_text(user=f.UserFactory(), content="你好", scene=2).status == "pending_check"
    assert content.check_text(user=f.UserFactory(openid=None), content="你好", scene=2).status == "pending_review"
