"""Supports (附议), the threshold, withdrawal, merging, and stage moves by the table."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from deliberation.actions.stages import do_transition_topic
from deliberation.actions.supports import do_add_support
from deliberation.models import Follow, Support, Topic, TopicEvent
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import member, topic_in

pytestmark = pytest.mark.django_db


def test_support_is_idempotent_and_withdrawable(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    ls = Api(lisi)
    assert ls.post(f"/api/v1/topics/{topic.pk}/supports").status_code == 201
    r = ls.post(f"/api/v1/topics/{topic.pk}/supports")
    assert r.status_code == 200 and r.json()["support_households"] == 1
    assert Support.objects.filter(topic=topic).count() == 1
    r = ls.delete(f"/api/v1/topics/{topic.pk}/supports")
    assert r.status_code == 200 and r.json()["supported"] is False
    assert ls.delete(f"/api/v1/topics/{topic.pk}/supports").status_code == 200
    assert not Support.objects.filter(topic=topic).exists()


def test_threshold_counts_households_and_percent_setting(neighborhood, staff):
    neighborhood.households = 300
    neighborhood.settings = {"topic_support_percent": 1}  # 3 households
    neighborhood.save()
    same_flat = [member(neighborhood, household="1-101") for _ in range(3)]
    topic = topic_in(neighborhood, same_flat[0], staff=staff)
    for person in same_flat:
        do_add_support(topic_id=topic.pk, actor=person)
    topic.refresh_from_db()
    assert topic.status == "proposed"  # one household, however many people
    for _ in range(2):
        do_add_support(topic_id=topic.pk, actor=member(neighborhood))
    topic.refresh_from_db()
    assert topic.status == "discussing"


def test_support_outsider_404_pending_403_closed_409(neighborhood, staff, zhangsan, wangwu, zhaoliu):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    assert_error(Api(zhaoliu).post(f"/api/v1/topics/{topic.pk}/supports"), 404)
    assert_error(Api(zhaoliu).delete(f"/api/v1/topics/{topic.pk}/supports"), 404)
    assert_error(Api(wangwu).post(f"/api/v1/topics/{topic.pk}/supports"), 403, "not_verified")
    voting = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING, title="表决中")
    assert_error(Api(zhangsan).post(f"/api/v1/topics/{voting.pk}/supports"), 409, "supports_closed")


def test_staff_opens_discussion_directly_and_residents_cannot(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "discussing"}), 403, "staff_only")
    r = Api(staff).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "discussing", "note": "居委直接开启"})
    assert r.status_code == 200 and r.json()["status"] == "discussing"


def test_staff_of_another_street_gets_404(neighborhood, other_neighborhood, zhangsan, staff):
    from tests import factories as f

    outsider = f.officer(other_neighborhood.parent)
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    assert_error(Api(outsider).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "discussing"}), 404)


def test_moves_off_the_table_are_409_with_current_status(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    chen = Api(staff)
    err = assert_error(
        chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "implementing"}), 409, "topic_state_changed"
    )
    assert err["detail"] == {"current": "proposed"}
    assert_error(chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "closed"}), 409)
    assert_error(chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "flying"}), 400, "invalid_input")
    assert_error(
        chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "discussing", "from_status": "voting"}),
        409,
        "topic_state_changed",
    )


def test_two_staff_moving_at_once_one_wins(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    do_transition_topic(topic_id=topic.pk, actor=staff, to="discussing")
    with pytest.raises(Conflict) as exc:
        do_transition_topic(topic_id=topic.pk, actor=staff, to="discussing")
    assert exc.value.detail == {"current": "discussing"}
    assert TopicEvent.objects.filter(topic=topic, to_status="discussing").count() == 1


def test_author_withdraws_before_voting_only(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "withdrawn"}), 403, "author_only")
    assert_error(Api(staff).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "withdrawn"}), 403, "author_only")
    assert (
        Api(zhangsan).post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "withdrawn"}).json()["status"]
        == "withdrawn"
    )
    voting = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING, title="表决中")
    assert_error(Api(zhangsan).post(f"/api/v1/topics/{voting.pk}/transitions", {"to": "withdrawn"}), 409)


def test_merge_carries_supports_without_double_counting(neighborhood, staff):
    neighborhood.settings = {"topic_support_threshold": 3}
    neighborhood.save()
    a, b, c = (member(neighborhood) for _ in range(3))
    original = topic_in(neighborhood, a, staff=staff, title="停车难")
    duplicate = topic_in(neighborhood, b, staff=staff, title="停车位不够")
    do_add_support(topic_id=original.pk, actor=a)
    do_add_support(topic_id=duplicate.pk, actor=a)  # supported both
    do_add_support(topic_id=duplicate.pk, actor=b)
    chen = Api(staff)
    assert_error(
        chen.post(f"/api/v1/topics/{duplicate.pk}/transitions", {"to": "merged"}), 400, "merge_target_required"
    )
    assert_error(
        chen.post(f"/api/v1/topics/{duplicate.pk}/transitions", {"to": "merged", "merge_into": duplicate.pk}), 400
    )
    r = chen.post(f"/api/v1/topics/{duplicate.pk}/transitions", {"to": "merged", "merge_into": original.pk})
    assert r.status_code == 200 and r.json()["status"] == "merged" and r.json()["merged_into"] == original.pk
    assert set(Support.objects.filter(topic=original).values_list("user_id", flat=True)) == {a.pk, b.pk}
    assert Follow.objects.filter(topic=original, user=b).exists()
    do_add_support(topic_id=original.pk, actor=c)
    original.refresh_from_db()
    assert original.status == "discussing"
    # A merged topic moves no more.
    assert_error(chen.post(f"/api/v1/topics/{duplicate.pk}/transitions", {"to": "discussing"}), 409)


def test_follow_and_unfollow_are_idempotent(neighborhood, staff, zhangsan, lisi, zhaoliu):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    ls = Api(lisi)
    assert ls.post(f"/api/v1/topics/{topic.pk}/follow").json()["following"] is True
    assert ls.post(f"/api/v1/topics/{topic.pk}/follow").status_code == 200
    assert Follow.objects.filter(topic=topic, user=lisi).count() == 1
    assert ls.delete(f"/api/v1/topics/{topic.pk}/follow").json()["following"] is False
    assert_error(Api(zhaoliu).post(f"/api/v1/topics/{topic.pk}/follow"), 404)


def test_transition_double_submit_with_idempotency_key_replays(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    chen = Api(staff)
    r1 = chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "discussing"}, headers={"Idempotency-Key": "m1"})
    r2 = chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "discussing"}, headers={"Idempotency-Key": "m1"})
    assert r1.status_code == r2.status_code == 200
    assert TopicEvent.objects.filter(topic=topic, to_status="discussing").count() == 1
