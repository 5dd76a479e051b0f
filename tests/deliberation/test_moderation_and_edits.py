"""Staff hide, restore and remove replies and topics, each act logged; the author edits a
proposed topic within the edit window, and the new text is checked again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deliberation.actions.replies import do_add_reply
from deliberation.models import ContentStatus, Reply, Topic, TopicContentLog, TopicImage
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import make_image, topic_in

pytestmark = pytest.mark.django_db


def _reply(topic, author, body="我有意见"):
    return do_add_reply(topic_id=topic.pk, actor=author, body=body, stance="oppose")


def test_staff_hide_and_restore_a_reply_and_each_act_is_logged(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    reply = _reply(topic, lisi)
    path = f"/api/v1/topics/{topic.pk}/replies/{reply.pk}/moderation"
    hidden = Api(staff).post(path, {"action": "hide", "reason": "人身攻击"})
    assert hidden.status_code == 200 and hidden.json()["content_status"] == "hidden"
    assert Api(zhangsan).get(f"/api/v1/topics/{topic.pk}/replies").json()["results"] == []
    assert Api(lisi).get(f"/api/v1/topics/{topic.pk}/replies").json()["results"][0]["content_status"] == "hidden"
    assert Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()["reply_count"] == 0
    # A second staff member hiding at the same moment sees the changed state.
    assert_error(Api(staff).post(path, {"action": "hide"}), 409, "content_state_changed")

    assert Api(staff).post(path, {"action": "restore"}).json()["content_status"] == "published"
    assert Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()["reply_count"] == 1
    Api(staff).post(path, {"action": "remove", "reason": "违规"})
    assert Api(lisi).get(f"/api/v1/topics/{topic.pk}/replies").json()["results"] == []  # gone for its author too
    assert_error(Api(staff).post(path, {"action": "restore"}), 409, "content_state_changed")

    log = list(TopicContentLog.objects.filter(reply=reply).order_by("id").values_list("action", "reason", "actor"))
    assert log == [("hide", "人身攻击", staff.pk), ("restore", "", staff.pk), ("remove", "违规", staff.pk)]
    assert TopicContentLog.objects.filter(reply=reply).first().snapshot == {
        "body": "我有意见",
        "content_status": "published",
        "author_id": lisi.pk,
    }


def test_reply_moderation_refuses_residents_outsiders_bad_input_and_other_topics(
    neighborhood, staff, zhangsan, lisi, zhaoliu
):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    other = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING, title="另一个议题")
    reply = _reply(topic, lisi)
    path = f"/api/v1/topics/{topic.pk}/replies/{reply.pk}/moderation"
    assert_error(Api(lisi).post(path, {"action": "hide"}), 403, "staff_only")
    assert_error(Api(zhaoliu).post(path, {"action": "hide"}), 404)
    assert_error(Api(staff).post(path, {"action": "delete_everything"}), 400)
    assert_error(Api(staff).post(path, {}), 400)
    assert_error(Api(staff).post(f"/api/v1/topics/{other.pk}/replies/{reply.pk}/moderation", {"action": "hide"}), 404)
    assert Reply.objects.get(pk=reply.pk).content_status == ContentStatus.PUBLISHED
    assert not TopicContentLog.objects.exists()


def test_staff_hide_a_topic_before_the_vote_but_not_during_it(neighborhood, staff, zhangsan, lisi, zhaoliu):
    proposed = topic_in(neighborhood, zhangsan, staff=staff)
    path = f"/api/v1/topics/{proposed.pk}/moderation"
    assert_error(Api(lisi).post(path, {"action": "hide"}), 403, "staff_only")
    assert_error(Api(zhaoliu).post(path, {"action": "hide"}), 404)
    assert Api(staff).post(path, {"action": "hide", "reason": "重复议题"}).json()["content_status"] == "hidden"
    assert_error(Api(lisi).get(f"/api/v1/topics/{proposed.pk}"), 404)
    assert Api(zhangsan).get(f"/api/v1/topics/{proposed.pk}").json()["content_status"] == "hidden"  # author sees why
    assert Api(staff).post(path, {"action": "restore"}).json()["content_status"] == "published"
    assert Api(lisi).get(f"/api/v1/topics/{proposed.pk}").status_code == 200

    voting = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING, title="表决中")
    assert_error(Api(staff).post(f"/api/v1/topics/{voting.pk}/moderation", {"action": "hide"}), 409, "topic_in_vote")
    assert Topic.objects.get(pk=voting.pk).content_status == ContentStatus.PUBLISHED


def test_author_edits_a_proposed_topic_and_the_old_text_is_kept(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    picture = make_image(zhangsan)
    path = f"/api/v1/topics/{topic.pk}"
    assert Api(zhangsan).get(path).json()["can_edit"] is True and Api(lisi).get(path).json()["can_edit"] is False
    edited = Api(zhangsan).patch(path, {"body": "补充：晚上十点后尤其紧张", "image_ids": [picture.pk]})
    assert edited.status_code == 200, edited.content
    body = edited.json()
    assert (
        body["body"] == "补充：晚上十点后尤其紧张"
        and body["edited_at"]
        and [i["id"] for i in body["images"]] == [picture.pk]
    )
    log = TopicContentLog.objects.get(topic=topic)
    assert (log.action, log.actor, log.snapshot["body"], log.snapshot["image_ids"]) == (
        "edit",
        zhangsan,
        "希望居委牵头讨论。",
        [],
    )

    assert_error(Api(zhangsan).patch(path, {"body": "改成赌博"}), 400, "content_rejected")
    assert Topic.objects.get(pk=topic.pk).body == "补充：晚上十点后尤其紧张"
    held = Api(zhangsan).patch(path, {"title": "一起上访"})
    assert held.json()["content_status"] == "pending_review"
    assert_error(Api(lisi).get(path), 404)  # the edited text waits for staff

    assert_error(Api(lisi).patch(path, {"body": "别人的"}), 404)  # cannot see it now
    assert_error(Api(zhangsan).patch(path, {}), 400)
    assert_error(Api(zhangsan).patch(path, {"image_ids": [make_image(lisi).pk]}), 400, "image_not_found")
    assert TopicImage.objects.filter(topic=topic).count() == 1


def test_edit_is_refused_after_the_window_or_once_discussion_opened(neighborhood, staff, zhangsan, lisi, settings):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    assert_error(Api(lisi).patch(f"/api/v1/topics/{topic.pk}", {"body": "不是我的"}), 403, "author_only")
    settings.DELIBERATION_EDIT_WINDOW_MINUTES = 30
    Topic.objects.filter(pk=topic.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    assert_error(Api(zhangsan).patch(f"/api/v1/topics/{topic.pk}", {"body": "晚了"}), 409, "topic_not_editable")

    discussing = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING, title="讨论中")
    assert_error(Api(zhangsan).patch(f"/api/v1/topics/{discussing.pk}", {"body": "改"}), 409, "topic_not_editable")
    assert not TopicContentLog.objects.exists()
