"""举报 in 议事, with the feed's rules: one report per person per topic or reply, the Nth hides it
until staff review it, and it waits in the staff queue. And a resident's own topics, held and
hidden ones included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deliberation.actions.moderation import do_moderate_topic
from deliberation.actions.replies import do_add_reply
from deliberation.models import ContentStatus, Topic, TopicContentLog, TopicReport
from notifications.models import Event
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import make_image, member, topic_in

pytestmark = pytest.mark.django_db

QUEUE = "/api/v1/topics/moderation-queue"


def _reply(topic, author, body="我有意见"):
    return do_add_reply(topic_id=topic.pk, actor=author, body=body, stance="oppose")


def _report(user, path, reason="abuse"):
    return Api(user).post(path, {"reason": reason, "note": "请处理"})


def test_three_reports_hide_a_topic_until_staff_review_it(
    neighborhood, staff, zhangsan, lisi, django_capture_on_commit_callbacks
):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    reporters = [lisi, member(neighborhood), member(neighborhood)]
    path = f"/api/v1/topics/{topic.pk}/reports"

    first = _report(reporters[0], path)
    assert first.status_code == 201 and first.json()["topic_id"] == topic.pk and first.json()["reply_id"] is None
    assert_error(_report(reporters[0], path, reason="spam"), 409, "already_reported")
    assert _report(reporters[1], path).status_code == 201
    # Two open reports: still public, but waiting in the staff queue.
    assert Topic.objects.get(pk=topic.pk).content_status == ContentStatus.PUBLISHED
    queued = Api(staff).get(QUEUE).json()["results"]
    assert [(q["id"], q["open_report_count"], q["hidden_by_reports"]) for q in queued] == [(topic.pk, 2, False)]

    with django_capture_on_commit_callbacks(execute=True):
        assert _report(reporters[2], path).status_code == 201
    topic.refresh_from_db()
    assert topic.content_status == ContentStatus.HIDDEN and topic.hidden_by_reports
    log = TopicContentLog.objects.get(topic=topic, action="auto_hide")
    assert log.actor is None and log.reason == "3 人举报"
    assert Event.objects.filter(stream=f"neighborhood.{neighborhood.pk}", type="topic.hidden").exists()
    assert_error(Api(lisi).get(f"/api/v1/topics/{topic.pk}"), 404)  # gone for neighbours
    assert Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()["content_status"] == "hidden"  # its author sees why
    queued = Api(staff).get(QUEUE).json()["results"]
    assert [(q["id"], q["open_report_count"], q["hidden_by_reports"]) for q in queued] == [(topic.pk, 3, True)]

    # Staff restore it: the reports are settled and it leaves the queue; new reports count afresh.
    assert Api(staff).post(f"/api/v1/topics/{topic.pk}/moderation", {"action": "restore"}).status_code == 200
    assert not TopicReport.objects.filter(topic=topic, status="open").exists()
    assert Api(staff).get(QUEUE).json()["results"] == []
    assert Topic.objects.get(pk=topic.pk).hidden_by_reports is False


def test_a_topic_in_its_vote_is_never_hidden_by_reports_only_queued(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    neighborhood.settings = {"report_hide_threshold": 1}
    neighborhood.save()
    assert _report(lisi, f"/api/v1/topics/{topic.pk}/reports").status_code == 201
    assert Topic.objects.get(pk=topic.pk).content_status == ContentStatus.PUBLISHED
    assert [q["id"] for q in Api(staff).get(QUEUE).json()["results"]] == [topic.pk]


def test_reports_on_a_reply_hide_it_and_it_waits_in_the_reply_queue(neighborhood, staff, zhangsan, lisi):
    neighborhood.settings = {"report_hide_threshold": 2}
    neighborhood.save()
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    reply = _reply(topic, lisi)
    path = f"/api/v1/topics/{topic.pk}/replies/{reply.pk}/reports"
    assert _report(zhangsan, path).json()["reply_id"] == reply.pk
    assert_error(_report(zhangsan, path), 409, "already_reported")
    # Reporting the topic is a different object: allowed.
    assert _report(zhangsan, f"/api/v1/topics/{topic.pk}/reports").status_code == 201
    assert _report(member(neighborhood), path).status_code == 201
    reply.refresh_from_db()
    assert reply.content_status == ContentStatus.HIDDEN and reply.hidden_by_reports
    assert Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()["reply_count"] == 0
    queued = Api(staff).get(QUEUE, {"kind": "reply"}).json()["results"]
    assert [(q["id"], q["topic_id"], q["open_report_count"], q["hidden_by_reports"]) for q in queued] == [
        (reply.pk, topic.pk, 2, True)
    ]
    # A hidden reply can no longer be reported by others; staff remove it and the reports are settled.
    assert_error(_report(member(neighborhood), path), 404, "reply_not_found")
    Api(staff).post(f"/api/v1/topics/{topic.pk}/replies/{reply.pk}/moderation", {"action": "remove"})
    assert not TopicReport.objects.filter(reply=reply, status="open").exists()
    assert Api(staff).get(QUEUE, {"kind": "reply"}).json()["results"] == []


def test_reports_refuse_outsiders_bad_input_and_replies_of_other_topics(
    neighborhood, staff, zhangsan, lisi, zhaoliu, neighbor_in_other_group, group
):
    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING)
    other = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.DISCUSSING, title="另一个议题")
    reply = _reply(topic, lisi)
    assert_error(_report(zhaoliu, f"/api/v1/topics/{topic.pk}/reports"), 404)
    assert_error(_report(zhaoliu, f"/api/v1/topics/{topic.pk}/replies/{reply.pk}/reports"), 404)
    group_topic = topic_in(neighborhood, zhangsan, staff=staff, group=group, title="加装电梯")
    assert_error(_report(neighbor_in_other_group, f"/api/v1/topics/{group_topic.pk}/reports"), 404)
    assert_error(_report(lisi, f"/api/v1/topics/{other.pk}/replies/{reply.pk}/reports"), 404, "reply_not_found")
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic.pk}/reports", {"reason": "bored"}), 400)
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic.pk}/reports", {}), 400)
    assert_error(Api(lisi).post(f"/api/v1/topics/{topic.pk}/reports", {"reason": "spam", "note": "长" * 201}), 400)
    assert not TopicReport.objects.exists()


def test_the_queue_is_for_staff_of_the_neighborhood_only(neighborhood, other_neighborhood, staff, zhangsan, lisi):
    assert_error(Api(lisi).get(QUEUE), 403, "staff_only")
    assert_error(Api(staff).get(QUEUE, {"neighborhood": other_neighborhood.pk}), 404)
    assert_error(Api(staff).get(QUEUE, {"kind": "post"}), 400)
    assert_error(Api(staff).get(QUEUE, {"limit": "500"}), 400, "invalid_limit")
    assert_error(Api(staff).get(QUEUE, {"cursor": "zzz"}), 400, "invalid_cursor")
    from tests import factories as f

    elsewhere = f.staff(other_neighborhood)
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    _report(lisi, f"/api/v1/topics/{topic.pk}/reports")
    assert Api(elsewhere).get(QUEUE).json()["results"] == []
    assert [q["id"] for q in Api(staff).get(QUEUE, {"neighborhood": neighborhood.pk}).json()["results"]] == [topic.pk]


def test_the_queue_costs_the_same_for_5_and_50(neighborhood, staff, zhangsan, lisi):
    for i in range(55):
        topic = Topic.objects.create(
            neighborhood=neighborhood, author=zhangsan, category="parking", title=f"议题{i}", body="内容",
            content_status=ContentStatus.PUBLISHED,
        )
        TopicReport.objects.create(reporter=lisi, topic=topic, reason="spam")
    api = Api(staff)
    api.get(QUEUE, {"limit": 1})
    counts = []
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as ctx:
            assert len(api.get(QUEUE, {"limit": limit}).json()["results"]) == limit
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


# ---- GET /me/topics -----------------------------------------------------------------------


def test_a_resident_sees_their_own_topics_held_and_hidden_ones_too(neighborhood, staff, zhangsan, lisi):
    published = topic_in(neighborhood, zhangsan, staff=staff, title="停车")
    held = topic_in(neighborhood, zhangsan, staff=staff, title="关于上访的议题")  # the stand-in says review
    assert held.content_status == ContentStatus.PENDING_REVIEW
    hidden = topic_in(neighborhood, zhangsan, staff=staff, title="绿化")
    do_moderate_topic(topic_id=hidden.pk, actor=staff, action="hide", reason="重复")
    removed = topic_in(neighborhood, zhangsan, staff=staff, title="垃圾分类")
    do_moderate_topic(topic_id=removed.pk, actor=staff, action="remove", reason="违规")
    topic_in(neighborhood, lisi, staff=staff, title="李四的")

    rows = Api(zhangsan).get("/api/v1/me/topics").json()["results"]
    assert [(r["id"], r["content_status"]) for r in rows] == [
        (hidden.pk, "hidden"), (held.pk, "pending_review"), (published.pk, "published"),
    ]
    assert rows[0]["hidden_by_reports"] is False
    # The neighbourhood list does not show a neighbour the held or hidden ones.
    listed = {r["id"] for r in Api(lisi).get("/api/v1/topics").json()["results"]}
    assert held.pk not in listed and hidden.pk not in listed
    assert Api(lisi).get("/api/v1/me/topics").json()["results"][0]["title"] == "李四的"


def test_me_topics_pages_at_a_fixed_query_count_and_rejects_bad_input(neighborhood, zhangsan, anon):
    for i in range(60):
        topic = Topic.objects.create(
            neighborhood=neighborhood, author=zhangsan, category="parking", title=f"议题{i}", body="内容",
            content_status=ContentStatus.PUBLISHED,
        )
        Topic.objects.filter(pk=topic.pk).update(created_at=topic.created_at - timedelta(minutes=i))
        if i % 10 == 0:
            from deliberation.models import TopicImage

            TopicImage.objects.create(topic=topic, image=make_image(zhangsan))
    api = Api(zhangsan)
    api.get("/api/v1/me/topics", {"limit": 1})
    counts = []
    pages = []
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as ctx:
            page = api.get("/api/v1/me/topics", {"limit": limit}).json()
        counts.append(len(ctx))
        pages.append(page)
    assert counts[0] == counts[1], counts
    rest = api.get("/api/v1/me/topics", {"limit": 50, "cursor": pages[1]["next_cursor"]}).json()
    ids = [r["id"] for r in pages[1]["results"] + rest["results"]]
    assert len(ids) == len(set(ids)) == 60 and rest["next_cursor"] is None
    assert_error(api.get("/api/v1/me/topics", {"limit": "0"}), 400, "invalid_limit")
    assert_error(api.get("/api/v1/me/topics", {"cursor": "@@@"}), 400, "invalid_cursor")
    assert_error(anon.get("/api/v1/me/topics"), 401)


def test_a_reporters_export_holds_their_reports_and_erasure_drops_the_note(neighborhood, staff, zhangsan, lisi):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    Api(lisi).post(f"/api/v1/topics/{topic.pk}/reports", {"reason": "rumor", "note": "李四的举报说明"})
    exported = Api(lisi).get("/api/v1/me/export")
    assert exported.status_code == 200, exported.content
    assert [r["note"] for r in exported.json()["sections"]["deliberation"]["reports"]] == ["李四的举报说明"]
    assert Api(lisi).delete("/api/v1/me").status_code == 204
    report = TopicReport.objects.get(topic=topic)
    assert report.note == "" and report.status == "open"  # still counted until staff review it
