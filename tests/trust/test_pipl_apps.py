"""PIPL across the apps: the export has a section per app holding only my data, and erasure
scrubs what is personal while public content and counted votes stay."""

from __future__ import annotations

import pytest

from community.models import Comment, Like, Post, Report
from deliberation.actions.replies import do_add_reply
from deliberation.actions.stages import do_transition_topic
from deliberation.actions.supports import do_add_support, do_follow_topic
from deliberation.actions.votes import do_cast_ballot, do_close_vote
from deliberation.models import Ballot, BallotMark, Follow, Reply, Topic
from privacy import pipl
from residents.models import User
from services.actions.requests import check_create_service_request, do_create_service_request
from services.models import ServiceRequest
from tests import factories as f
from tests.community.conftest import make_image, make_post
from tests.conftest import Api
from tests.deliberation.conftest import member, topic_in, vote_rules
from tests.services.conftest import MEAL, item
from tests.trust.dump import plaintexts_found

ADDRESS = "宝林一村5号楼301室"
HEALTH = "高血压，需低盐饮食"
OTHER_HEALTH = "心脏支架术后，忌剧烈运动"


@pytest.fixture
def people(neighborhood):
    zhangsan = member(neighborhood, household="5-301", nickname="张三", phone="13800138001")
    lisi = member(neighborhood, household="5-302", nickname="李四", phone="13800138002")
    staff = f.staff(neighborhood, nickname="陈主任")
    mother = f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood, name="王阿婆", birth_year=1938,
                                  is_default=True, address=ADDRESS, health_notes=HEALTH)
    f.BeneficiaryFactory(owner=lisi, neighborhood=neighborhood, name="李老伯", is_default=True,
                         address="宝林一村6号楼101室", health_notes=OTHER_HEALTH)
    return zhangsan, lisi, staff, mother


@pytest.fixture
def activity(people, neighborhood, wechat_standin):
    """Each of 张三 and 李四 posts, comments, likes, reports, requests a meal, proposes, replies and votes."""
    zhangsan, lisi, staff, mother = people
    mine = make_post(neighborhood, zhangsan, title="张三的帖子")
    theirs = make_post(neighborhood, lisi, title="李四的帖子")
    Comment.objects.create(post=theirs, author=zhangsan, body="张三的评论", status="published")
    Comment.objects.create(post=mine, author=lisi, body="李四的评论", status="published")
    Like.objects.create(post=theirs, user=zhangsan)
    Like.objects.create(post=mine, user=lisi)
    Report.objects.create(reporter=zhangsan, post=theirs, reason="spam", note="张三的举报说明")
    make_image(zhangsan)  # uploaded, never used
    meal = item("meal-delivery")
    request = do_create_service_request(check_create_service_request(actor=zhangsan, item=meal, extra=MEAL, note="请敲门"))
    do_create_service_request(check_create_service_request(actor=lisi, item=meal, extra=MEAL))
    topic = topic_in(neighborhood, zhangsan, staff=staff, title="张三的议题")
    do_add_reply(topic_id=topic.pk, actor=lisi, body="李四的发言", stance="oppose")
    do_add_reply(topic_id=topic.pk, actor=zhangsan, body="张三的发言", stance="support")
    do_add_support(topic_id=topic.pk, actor=lisi)
    do_follow_topic(topic=topic, actor=zhangsan)
    topic = do_transition_topic(topic_id=topic.pk, actor=staff, to=Topic.Status.DISCUSSING)
    topic = do_transition_topic(
        topic_id=topic.pk, actor=staff, to=Topic.Status.VOTING, summary="小结",
        vote_rules=vote_rules(),
    )
    do_cast_ballot(topic_id=topic.pk, actor=zhangsan, choices=["yes"])
    do_cast_ballot(topic_id=topic.pk, actor=lisi, choices=["no"])
    return {"post": mine, "request": request, "topic": topic}


def test_export_has_a_section_per_app_with_my_data_in_full(people, activity):
    zhangsan = people[0]
    body = Api(zhangsan).get("/api/v1/me/export").json()
    sections = body["sections"]
    assert {"residents", "notifications", "community", "services", "deliberation"} <= set(sections)
    assert [p["title"] for p in sections["community"]["posts"]] == ["张三的帖子"]
    assert [c["body"] for c in sections["community"]["comments"]] == ["张三的评论"]
    assert len(sections["community"]["likes"]) == 1 and sections["community"]["reports"][0]["note"] == "张三的举报说明"
    request = sections["services"]["service_requests"][0]
    assert (request["address"], request["health_note"], request["note"]) == (ADDRESS, HEALTH, "请敲门")
    assert sections["services"]["service_request_events"]
    assert [t["title"] for t in sections["deliberation"]["topics"]] == ["张三的议题"]
    assert [r["body"] for r in sections["deliberation"]["replies"]] == ["张三的发言"]
    ballot = sections["deliberation"]["ballots"][0]
    assert ballot["choices"] == ["yes"] and ballot["has_receipt"] is True


def test_export_holds_nothing_of_anyone_else(people, activity):
    text = Api(people[0]).get("/api/v1/me/export").content.decode()
    for theirs in ["李四的帖子", "李四的评论", "李四的发言", OTHER_HEALTH, "宝林一村6号楼101室", "13800138002"]:
        assert theirs not in text
    assert '"no"' not in text  # 李四's choice


def test_erasure_keeps_public_content_and_scrubs_the_rest(people, activity, neighborhood):
    zhangsan, lisi, staff, _ = people
    assert Api(zhangsan).delete("/api/v1/me").status_code == 204

    # Community: the post and comment stay, authored by the tombstone; the report note goes.
    post = Post.objects.get(pk=activity["post"].pk)
    assert post.author_id == zhangsan.pk and post.author.display_name == "已注销用户"
    assert Comment.objects.filter(author=zhangsan, body="张三的评论").exists()
    assert Report.objects.get(reporter=zhangsan).note == ""
    assert not zhangsan.images.exists()
    # Services: the request stays (statistics) but holds nothing personal, and is no longer open.
    request = ServiceRequest.objects.get(pk=activity["request"].pk)
    assert (request.address, request.health_note, request.note, request.beneficiary_name, request.extra) == ("", "", "", "", {})
    assert request.status == ServiceRequest.Status.CANCELLED
    # Deliberation: topics and replies stay; the ballot is still counted but no longer theirs.
    assert Topic.objects.get(pk=activity["topic"].pk).author_id == zhangsan.pk
    assert Reply.objects.filter(author=zhangsan).exists()
    assert not Follow.objects.filter(user=zhangsan).exists()
    assert not Ballot.objects.filter(user=zhangsan).exists()
    assert not Ballot.objects.filter(voter_key=f"u:{zhangsan.pk}").exists()
    assert sorted(BallotMark.objects.filter(topic=activity["topic"]).values_list("option", flat=True)) == ["no", "yes"]
    sink = User.objects.get(username="erased_voters")
    assert not sink.is_active and sink.display_name == "已注销用户"
    # 李四's data is untouched.
    assert ServiceRequest.objects.get(requester=lisi).address
    assert Ballot.objects.filter(user=lisi).count() == 1
    assert plaintexts_found([ADDRESS, HEALTH, "请敲门", "张三的举报说明"]) == []


def test_two_erased_voters_share_the_sink_and_the_vote_still_closes(people, activity):
    zhangsan, lisi, staff, _ = people
    pipl.do_erase_user(user=zhangsan, actor=zhangsan, screen="test")
    pipl.do_erase_user(user=lisi, actor=lisi, screen="test")
    sink = User.objects.get(username="erased_voters")
    assert Ballot.objects.filter(topic=activity["topic"], user=sink).count() == 2
    topic = do_close_vote(topic_id=activity["topic"].pk, actor=staff)
    assert topic.decision.tally
