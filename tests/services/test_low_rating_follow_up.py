"""A 1★ "nobody came": the family can still reopen within the window, and staff are given a
call-back to make before a deadline. "Already rated" and "state changed" are different errors."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from notifications.models import Notification
from services.actions.ratings import do_rate_service_request
from services.models import SatisfactionDaily, ServiceRating, ServiceRequest, ServiceRequestEvent
from tests.conftest import assert_error
from tests.services.test_ratings import _completed

BASE = "/api/v1/service-requests"


def test_a_one_star_rating_opens_a_follow_up_for_the_committee(world, api_for, django_capture_on_commit_callbacks):
    req = _completed(world)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(world.son).post(f"{BASE}/{req.pk}/rating", {"score": 1, "comment": "没有人来"})
    assert response.status_code == 201, response.content
    detail = api_for(world.staff).get(f"{BASE}/{req.pk}").json()
    due = timezone.datetime.fromisoformat(detail["follow_up_due_at"])
    assert timedelta(hours=23) < due - timezone.now() <= timedelta(hours=24)
    assert detail["followed_up_at"] is None
    notice = Notification.objects.get(recipient=world.staff, kind="service_request_low_rating")
    assert "1星" in notice.body and notice.data["service_request_id"] == req.pk
    queue = api_for(world.staff).get(BASE, {"scope": "region", "follow_up": "open"}).json()["results"]
    assert [r["id"] for r in queue] == [req.pk]
    assert api_for(world.staff).get(BASE, {"scope": "region", "follow_up": "overdue"}).json()["results"] == []

    # Staff record the call; the follow-up leaves the queue and the timeline says who called.
    assert_error(api_for(world.staff).post(f"{BASE}/{req.pk}/follow-up", {"note": "  "}), 400, "invalid_input")
    assert_error(api_for(world.son).post(f"{BASE}/{req.pk}/follow-up", {"note": "我自己回访"}), 403)
    done = api_for(world.staff).post(f"{BASE}/{req.pk}/follow-up", {"note": "已电话联系家属，明天重新上门"})
    assert done.status_code == 200, done.content
    assert done.json()["followed_up_at"] is not None
    assert api_for(world.staff).get(BASE, {"scope": "region", "follow_up": "open"}).json()["results"] == []
    kinds = list(ServiceRequestEvent.objects.filter(request=req).values_list("kind", flat=True).order_by("id"))
    assert kinds[-2:] == ["follow_up_opened", "followed_up"]
    assert_error(api_for(world.staff).post(f"{BASE}/{req.pk}/follow-up", {"note": "再记一次"}), 409, "no_follow_up_open")


def test_a_good_rating_opens_no_follow_up(world, api_for):
    req = _completed(world)
    api_for(world.son).post(f"{BASE}/{req.pk}/rating", {"score": 4})
    req.refresh_from_db()
    assert req.follow_up_due_at is None
    assert_error(api_for(world.staff).post(f"{BASE}/{req.pk}/follow-up", {"note": "回访"}), 409, "no_follow_up_open")


def test_an_overdue_follow_up_shows_in_the_overdue_filter(world, api_for):
    req = _completed(world)
    do_rate_service_request(req.pk, actor=world.son, score=2)
    ServiceRequest.objects.filter(pk=req.pk).update(follow_up_due_at=timezone.now() - timedelta(minutes=1))
    overdue = api_for(world.staff).get(BASE, {"scope": "region", "follow_up": "overdue"}).json()["results"]
    assert [r["id"] for r in overdue] == [req.pk]


def test_nobody_came_the_family_reopens_after_rating_and_rates_the_second_round(world, api_for):
    req = _completed(world)
    son = api_for(world.son)
    son.post(f"{BASE}/{req.pk}/rating", {"score": 1, "comment": "没有人来"})
    assert SatisfactionDaily.objects.get().ratings == 1
    reopened = son.post(f"{BASE}/{req.pk}/transitions", {"to": "reopened", "note": "根本没有人来"})
    assert reopened.status_code == 200, reopened.content
    assert reopened.json()["status"] == "reopened"
    # The rating is withdrawn from the figures; the timeline keeps the 1★.
    assert not ServiceRating.objects.filter(request=req).exists()
    assert SatisfactionDaily.objects.get().ratings == 0
    assert ServiceRequestEvent.objects.filter(request=req, kind="rated", data__score=1).exists()
    # The second round, and its own rating.
    staff, worker = api_for(world.staff), api_for(world.worker)
    assert staff.post(f"{BASE}/{req.pk}/transitions", {"to": "assigned", "assignee_org": world.org.pk}).status_code == 200
    assert worker.post(f"{BASE}/{req.pk}/transitions", {"to": "in_service"}).status_code == 200
    assert worker.post(f"{BASE}/{req.pk}/transitions", {"to": "completed"}).status_code == 200
    assert son.post(f"{BASE}/{req.pk}/rating", {"score": 5}).status_code == 201
    daily = SatisfactionDaily.objects.get()
    assert (daily.ratings, daily.satisfied, daily.score_sum) == (1, 1, 5)


def test_reopening_a_rated_request_after_the_window_is_refused(world, api_for):
    req = _completed(world)
    do_rate_service_request(req.pk, actor=world.son, score=1)
    ServiceRequest.objects.filter(pk=req.pk).update(completed_at=timezone.now() - timedelta(days=8))
    assert_error(api_for(world.son).post(f"{BASE}/{req.pk}/transitions", {"to": "reopened"}), 403, "reopen_window_passed")
    assert ServiceRating.objects.filter(request=req).exists()


def test_already_rated_and_state_changed_are_different_errors(world, api_for):
    req = _completed(world)
    son = api_for(world.son)
    son.post(f"{BASE}/{req.pk}/rating", {"score": 3})
    assert_error(son.post(f"{BASE}/{req.pk}/rating", {"score": 1}), 409, "already_rated")
    son.post(f"{BASE}/{req.pk}/transitions", {"to": "reopened"})
    assert_error(son.post(f"{BASE}/{req.pk}/rating", {"score": 1}), 409, "request_state_changed")


def test_staff_of_another_region_get_404_and_a_double_tap_records_one_call(world, api_for):
    req = _completed(world)
    do_rate_service_request(req.pk, actor=world.son, score=1)
    assert_error(api_for(world.other_officer).post(f"{BASE}/{req.pk}/follow-up", {"note": "回访"}), 404)
    assert_error(api_for(world.outsider).post(f"{BASE}/{req.pk}/follow-up", {"note": "回访"}), 404)
    assert_error(api_for(world.staff).post(f"{BASE}/{req.pk}/follow-up", b"{not json", content_type="application/json"), 400)
    staff = api_for(world.staff)
    first = staff.post(f"{BASE}/{req.pk}/follow-up", {"note": "已电话联系"}, headers={"Idempotency-Key": "call-1"})
    again = staff.post(f"{BASE}/{req.pk}/follow-up", {"note": "已电话联系"}, headers={"Idempotency-Key": "call-1"})
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert ServiceRequestEvent.objects.filter(request=req, kind="followed_up").count() == 1
