"""A topic driven over HTTP from proposal to evaluated close, as the personas would."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from deliberation.models import Ballot, BallotMark, Topic, TopicEvent
from notifications.models import Event, Notification
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import member, vote_rules_json


def test_topic_goes_from_proposal_to_evaluated_close(
    neighborhood, staff, zhangsan, lisi, django_capture_on_commit_callbacks
):
    neighborhood.settings = {"topic_support_threshold": 3}
    neighborhood.save()
    zs, ls, chen = Api(zhangsan), Api(lisi), Api(staff)
    neighbors = [member(neighborhood) for _ in range(3)]

    # 张三 proposes; the threshold is 3 households.
    r = zs.post(
        "/api/v1/topics",
        {
            "neighborhood": neighborhood.pk,
            "category": "garbage",
            "title": "垃圾箱房改造",
            "body": "箱房异味大，建议改造并加装洗手池。",
        },
    )
    assert r.status_code == 201, r.content
    topic_id = r.json()["id"]
    assert r.json()["status"] == "proposed" and r.json()["support_threshold"] == 3

    # Supports from three households move it to discussion on the third.
    for i, neighbor in enumerate(neighbors):
        with django_capture_on_commit_callbacks(execute=True):
            r = Api(neighbor).post(f"/api/v1/topics/{topic_id}/supports")
        assert r.status_code == 201
        assert r.json()["status"] == ("discussing" if i == 2 else "proposed")
    assert TopicEvent.objects.filter(topic_id=topic_id, to_status="discussing", actor__isnull=True).exists()
    # 张三 follows his own topic, so he heard about it.
    assert Notification.objects.filter(recipient=zhangsan, kind="topic_update").exists()

    # Discussion: a stance reply and an official reply.
    assert zs.post(f"/api/v1/topics/{topic_id}/replies", {"body": "支持改造", "stance": "support"}).status_code == 201
    assert ls.post(f"/api/v1/topics/{topic_id}/replies", {"body": "担心费用", "stance": "oppose"}).status_code == 201
    r = chen.post(f"/api/v1/topics/{topic_id}/replies", {"body": "居委将申请专项资金", "official": True})
    assert r.status_code == 201 and r.json()["is_official"] is True
    replies = zs.get(f"/api/v1/topics/{topic_id}/replies").json()["results"]
    assert [x["stance"] for x in replies] == ["support", "oppose", ""]

    # The staff summary opens the vote.
    r = chen.post(
        f"/api/v1/topics/{topic_id}/transitions",
        {
            "to": "voting",
            "summary": "多数赞成改造，费用由专项资金承担。",
            "vote": vote_rules_json(quorum_percent=10),
        },
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "voting" and r.json()["vote"]["pass_rule"] == "simple_majority"

    receipts = {}
    for user, choice in [(zhangsan, "yes"), (lisi, "no"), *[(n, "yes") for n in neighbors]]:
        r = Api(user).post(f"/api/v1/topics/{topic_id}/ballots", {"choice": choice})
        assert r.status_code == 201, r.content
        receipts[user.pk] = r.json()["receipt_code"]
    detail = zs.get(f"/api/v1/topics/{topic_id}").json()
    assert detail["my_ballot"]["choices"] == ["yes"] and detail["decision"] is None

    with django_capture_on_commit_callbacks(execute=True):
        r = chen.post(f"/api/v1/topics/{topic_id}/transitions", {"to": "decided"})
    assert r.status_code == 200
    decision = r.json()["decision"]
    assert decision["outcome"] == "passed"
    assert decision["tally"]["yes"]["ballots"] == 4 and decision["tally"]["no"]["ballots"] == 1
    # The tally equals the ballot rows.
    assert decision["figures"]["ballots_cast"] == Ballot.objects.filter(topic_id=topic_id).count() == 5
    assert BallotMark.objects.filter(topic_id=topic_id, option="yes").count() == 4
    assert Event.objects.filter(stream=f"neighborhood.{neighborhood.pk}", type="topic.decided").exists()

    # My receipt shows my ballot counted as cast, without naming me.
    r = zs.get(f"/api/v1/topics/{topic_id}/receipts/{receipts[zhangsan.pk]}")
    assert r.status_code == 200
    assert r.json()["status"] == "counted" and r.json()["choices"] == ["yes"]
    assert "user" not in r.json() and "voter" not in str(r.json())

    # Implementation with milestones; voters hear about each update.
    assert chen.post(f"/api/v1/topics/{topic_id}/transitions", {"to": "implementing"}).status_code == 200
    r = chen.post(
        f"/api/v1/topics/{topic_id}/milestones",
        {"title": "设计方案", "due_date": "2026-12-01", "responsible_party": "物业公司"},
    )
    assert r.status_code == 201
    m1 = r.json()["id"]
    r = chen.post(f"/api/v1/topics/{topic_id}/milestones", {"title": "施工", "progress": 0})
    m2 = r.json()["id"]
    assert chen.patch(f"/api/v1/topics/{topic_id}/milestones/{m1}", {"status": "done"}).json()["progress"] == 100
    assert chen.patch(f"/api/v1/topics/{topic_id}/milestones/{m2}", {"progress": 50}).status_code == 200
    assert zs.get(f"/api/v1/topics/{topic_id}").json()["progress"] == 75
    # Evaluation opens once every milestone is done.
    assert_error(chen.post(f"/api/v1/topics/{topic_id}/transitions", {"to": "evaluating"}), 409, "milestones_incomplete")
    assert chen.patch(f"/api/v1/topics/{topic_id}/milestones/{m2}", {"status": "done"}).json()["progress"] == 100
    assert (
        Notification.objects.filter(recipient=lisi, kind="topic_update", event_key__contains="milestone").count() == 5
    )

    # Evaluation window, ratings, and the summary closes the topic.
    r = chen.post(
        f"/api/v1/topics/{topic_id}/transitions",
        {"to": "evaluating", "evaluation_closes_at": (timezone.now() + timedelta(days=7)).isoformat()},
    )
    assert r.status_code == 200
    assert zs.post(f"/api/v1/topics/{topic_id}/evaluations", {"rating": 5, "comment": "异味没了"}).status_code == 201
    assert ls.post(f"/api/v1/topics/{topic_id}/evaluations", {"rating": 4}).status_code == 201
    assert_error(zs.post(f"/api/v1/topics/{topic_id}/evaluations", {"rating": 1}), 409, "already_evaluated")
    # Closed once the announced window has run (time moved on).
    assert_error(chen.post(f"/api/v1/topics/{topic_id}/transitions", {"to": "closed"}), 409, "evaluation_window_open")
    Topic.objects.filter(pk=topic_id).update(evaluation_closes_at=timezone.now() - timedelta(seconds=1))
    r = chen.post(f"/api/v1/topics/{topic_id}/transitions", {"to": "closed", "note": "项目办结"})
    assert r.status_code == 200
    assert r.json()["status"] == "closed"
    assert r.json()["evaluation_summary"] == {
        "count": 2,
        "average": "4.50",
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    }
    moves = list(TopicEvent.objects.filter(topic_id=topic_id).order_by("id").values_list("to_status", flat=True))
    assert moves == ["proposed", "discussing", "voting", "decided", "implementing", "evaluating", "closed"]
    assert Topic.objects.get(pk=topic_id).outcome == "passed"


def test_not_passed_topic_cannot_be_implemented_only_closed(neighborhood, staff, zhangsan, lisi):
    from tests.deliberation.conftest import topic_in

    topic = topic_in(neighborhood, zhangsan, staff=staff, status=Topic.Status.VOTING)
    Api(lisi).post(f"/api/v1/topics/{topic.pk}/ballots", {"choice": "no"})
    chen = Api(staff)
    assert chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "decided"}).json()["outcome"] == "not_passed"
    assert_error(
        chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "implementing"}), 409, "topic_state_changed"
    )
    assert chen.post(f"/api/v1/topics/{topic.pk}/transitions", {"to": "closed"}).json()["status"] == "closed"
