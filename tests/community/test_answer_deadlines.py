"""发帖必响应 as a service level: every resident post gets a deadline, staff see who answered and
how fast, the overdue come first in their queue, and the street hears of a late one once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from community.answers import do_escalate_unanswered_posts
from community.models import Post
from community.tasks import escalate_unanswered_posts
from core.scheduler import periodic_jobs
from notifications.models import Event, Notification
from tests import factories as f
from tests.community.conftest import make_post
from tests.conftest import assert_error


def _queue(api, **params):
    response = api.get("/api/v1/posts/unanswered", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_resident_post_gets_a_deadline_and_the_answer_shows_who_and_how_fast(
    api_for, neighborhood, zhangsan, chenjuwei, standin, django_capture_on_commit_callbacks
):
    created = api_for(zhangsan).post(
        "/api/v1/posts",
        {"neighborhood_id": neighborhood.pk, "section": "neighbors", "title": "楼道灯坏了", "body": "3号楼2楼的灯不亮了"},
    ).json()
    post = Post.objects.get(pk=created["id"])
    assert post.answer_due_at == post.created_at + timedelta(hours=24)
    assert created["answer_due_at"] is not None and created["answered_by"] is None
    assert created["response_minutes"] is None and created["is_overdue"] is False

    # The answer came 90 minutes after the post.
    Post.objects.filter(pk=post.pk).update(created_at=post.created_at - timedelta(minutes=90))
    with django_capture_on_commit_callbacks(execute=True):
        api_for(chenjuwei).post(f"/api/v1/posts/{post.pk}/comments", {"body": "已派物业维修", "official": True})
    detail = api_for(zhangsan).get(f"/api/v1/posts/{post.pk}").json()
    assert detail["answered_by"] == {"name": "陈主任", "role": "committee_staff", "role_label": "居委"}
    assert detail["response_minutes"] == 90 and detail["is_overdue"] is False
    assert detail["answered_at"] is not None


def test_an_officer_answer_says_street_and_a_late_answer_is_overdue(api_for, zhangsan, liujiedao, neighborhood, standin):
    post = make_post(neighborhood, zhangsan, created_at=timezone.now() - timedelta(hours=30))
    api_for(liujiedao).post(f"/api/v1/posts/{post.pk}/comments", {"body": "街道已协调", "official": True})
    detail = api_for(zhangsan).get(f"/api/v1/posts/{post.pk}").json()
    assert detail["answered_by"]["role"] == "street_officer" and detail["answered_by"]["role_label"] == "街道"
    assert detail["response_minutes"] >= 30 * 60 and detail["is_overdue"] is True


def test_a_section_may_set_its_own_target_and_staff_posts_owe_nothing(settings, neighborhood, zhangsan, chenjuwei):
    settings.COMMUNITY_SECTIONS = [
        {"key": "notice", "name": "社区公告", "staff_only": True},
        {"key": "neighbors", "name": "邻里互动", "staff_only": False},
        {"key": "property", "name": "物业之窗", "staff_only": False, "answer_hours": 4},
    ]
    property_post = make_post(neighborhood, zhangsan, section="property")
    assert property_post.answer_due_at == property_post.created_at + timedelta(hours=4)
    settings.COMMUNITY_ANSWER_HOURS = 48
    neighbors_post = make_post(neighborhood, zhangsan)
    assert neighbors_post.answer_due_at == neighbors_post.created_at + timedelta(hours=48)
    assert make_post(neighborhood, chenjuwei, section="notice").answer_due_at is None


def test_the_queue_puts_overdue_first_and_filters_them(api_for, zhangsan, lisi, chenjuwei, neighborhood):
    now = timezone.now()
    fresh_old = make_post(neighborhood, zhangsan, title="两小时前", created_at=now - timedelta(hours=2))
    late = make_post(neighborhood, lisi, title="昨天", created_at=now - timedelta(hours=30))
    later = make_post(neighborhood, lisi, title="前天", created_at=now - timedelta(hours=50))
    fresh_new = make_post(neighborhood, zhangsan, title="刚刚", created_at=now - timedelta(minutes=5))
    api = api_for(chenjuwei)

    rows = _queue(api)
    assert [r["id"] for r in rows] == [later.id, late.id, fresh_old.id, fresh_new.id]
    assert [r["is_overdue"] for r in rows] == [True, True, False, False]
    assert [r["id"] for r in _queue(api, overdue="true")] == [later.id, late.id]
    assert [r["id"] for r in _queue(api, overdue="false")] == [fresh_old.id, fresh_new.id]
    # The cursor walks the same order.
    first = api.get("/api/v1/posts/unanswered", {"limit": 3}).json()
    rest = api.get("/api/v1/posts/unanswered", {"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [r["id"] for r in first["results"] + rest["results"]] == [later.id, late.id, fresh_old.id, fresh_new.id]
    assert rest["next_cursor"] is None

    assert_error(api.get("/api/v1/posts/unanswered", {"overdue": "maybe"}), 400, "invalid_parameter")
    assert_error(api.get("/api/v1/posts/unanswered", {"cursor": "@@"}), 400, "invalid_cursor")
    assert_error(api_for(zhangsan).get("/api/v1/posts/unanswered", {"overdue": "true"}), 403, "staff_only")


def test_the_queue_costs_the_same_for_5_and_50_posts(api_for, neighborhood, chenjuwei):
    authors = [f.resident(neighborhood) for _ in range(5)]
    now = timezone.now()
    for i in range(60):
        make_post(neighborhood, authors[i % 5], created_at=now - timedelta(hours=i))
    api = api_for(chenjuwei)
    _queue(api, limit=1)  # the token's first use writes last_used_at: keep it out of the count
    counts = []
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as ctx:
            assert len(_queue(api, limit=limit)) == limit
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_a_late_post_is_escalated_to_the_street_once(
    neighborhood, street, zhangsan, lisi, chenjuwei, liujiedao, other_neighborhood, zhaoliu, django_capture_on_commit_callbacks
):
    now = timezone.now()
    late = make_post(neighborhood, zhangsan, created_at=now - timedelta(hours=25))
    answered = make_post(neighborhood, lisi, created_at=now - timedelta(hours=25))
    Post.objects.filter(pk=answered.pk).update(answered_at=now - timedelta(hours=2), answered_by=chenjuwei)
    make_post(neighborhood, lisi, created_at=now - timedelta(hours=1))  # still in time
    make_post(neighborhood, lisi, created_at=now - timedelta(hours=25), status="hidden")  # not public
    other_officer = f.officer(other_neighborhood.parent)

    with django_capture_on_commit_callbacks(execute=True):
        assert do_escalate_unanswered_posts() == 1
        assert do_escalate_unanswered_posts() == 0
    late.refresh_from_db()
    assert late.answer_escalated_at is not None
    note = Notification.objects.get(recipient=liujiedao, kind="post_answer_overdue")
    assert note.data["post_id"] == late.pk
    assert not Notification.objects.filter(recipient=other_officer, kind="post_answer_overdue").exists()
    assert not Notification.objects.filter(recipient=chenjuwei, kind="post_answer_overdue").exists()
    events = Event.objects.filter(type="post.answer_overdue")
    assert sorted(e.stream for e in events) == sorted([f"staff.street.{street.pk}", f"staff.neighborhood.{neighborhood.pk}"])
    assert all(e.payload["post_id"] == late.pk and "body" not in e.payload for e in events)
    # A later sweep does not escalate it again (the one still in time is not due yet).
    assert do_escalate_unanswered_posts(now=now + timedelta(hours=1)) == 0


def test_the_sweep_is_a_registered_periodic_job(db):
    assert "community.tasks.escalate_unanswered_posts" in {job.task_path for job in periodic_jobs()}
    assert escalate_unanswered_posts.enqueue().return_value == 0  # ImmediateBackend in tests


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_each_post_once(neighborhood, street, liujiedao):
    now = timezone.now()
    authors = [f.resident(neighborhood) for _ in range(3)]
    posts = [make_post(neighborhood, a, created_at=now - timedelta(hours=30)) for a in authors]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def sweep(index):
        try:
            barrier.wait(timeout=5)
            results[index] = do_escalate_unanswered_posts(now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(results) == 3, results
    assert Notification.objects.filter(recipient=liujiedao, kind="post_answer_overdue").count() == 3
    assert Event.objects.filter(type="post.answer_overdue", stream=f"staff.street.{street.pk}").count() == 3
    assert Post.objects.filter(pk__in=[p.pk for p in posts], answer_escalated_at__isnull=True).count() == 0
