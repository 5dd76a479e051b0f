"""A resident's inbox: only their own messages, newest first, with an unread count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.actions import do_notify
from notifications.models import Event, Notification
from tests import factories as f
from tests.conftest import assert_error


def _notify(user, n: int) -> None:
    do_notify(recipients=[user], kind="test", title=f"消息{n}", body="内容", page="pages/x", event_key=f"inbox:{n}")


def test_resident_sees_own_messages_newest_first_with_unread_count(api_for, db):
    user, other = f.UserFactory(), f.UserFactory()
    for n in range(3):
        _notify(user, n)
    _notify(other, 9)
    body = api_for(user).get("/api/v1/notifications").json()
    assert [r["title"] for r in body["results"]] == ["消息2", "消息1", "消息0"]
    assert body["unread_count"] == 3 and body["next_cursor"] is None


def test_inbox_pages_by_cursor_without_gaps(api_for, db):
    user = f.UserFactory()
    for n in range(5):
        _notify(user, n)
    api = api_for(user)
    first = api.get("/api/v1/notifications", {"limit": 2}).json()
    second = api.get("/api/v1/notifications", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = api.get("/api/v1/notifications", {"limit": 2, "cursor": second["next_cursor"]}).json()
    titles = [r["title"] for page in (first, second, third) for r in page["results"]]
    assert titles == ["消息4", "消息3", "消息2", "消息1", "消息0"] and third["next_cursor"] is None


def test_inbox_query_count_does_not_grow_with_page_size(api_for, db):
    user = f.UserFactory()
    api = api_for(user)
    for n in range(50):
        _notify(user, n)
    api.get("/api/v1/notifications", {"limit": 5})  # warm the token's last_used_at write
    with CaptureQueriesContext(connection) as five:
        api.get("/api/v1/notifications", {"limit": 5})
    with CaptureQueriesContext(connection) as fifty:
        api.get("/api/v1/notifications", {"limit": 50})
    assert len(five) == len(fifty) <= 4


def test_bad_cursor_and_limit_are_400(api_for, db):
    api = api_for(f.UserFactory())
    assert_error(api.get("/api/v1/notifications", {"cursor": "@@@"}), 400, "invalid_cursor")
    assert_error(api.get("/api/v1/notifications", {"limit": "0"}), 400, "invalid_limit")


def test_anonymous_gets_401(anon, db):
    assert_error(anon.get("/api/v1/notifications"), 401)


def test_mark_one_read(api_for, db, django_capture_on_commit_callbacks):
    user = f.UserFactory()
    _notify(user, 1)
    _notify(user, 2)
    notification = Notification.objects.get(event_key="inbox:1")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(user).post(f"/api/v1/notifications/{notification.pk}/read")
    assert response.status_code == 200 and response.json()["is_read"]
    first_read_at = response.json()["read_at"]
    again = api_for(user).post(f"/api/v1/notifications/{notification.pk}/read")
    assert again.json()["read_at"] == first_read_at  # a second tap changes nothing
    assert api_for(user).get("/api/v1/notifications").json()["unread_count"] == 1
    assert Event.objects.filter(stream=f"user.{user.pk}", type="notification.read").count() == 1


def test_someone_elses_notification_is_404(api_for, db):
    owner, stranger = f.UserFactory(), f.UserFactory()
    _notify(owner, 1)
    notification = Notification.objects.get()
    assert_error(api_for(stranger).post(f"/api/v1/notifications/{notification.pk}/read"), 404, "notification_not_found")
    assert_error(api_for(stranger).post("/api/v1/notifications/999999/read"), 404, "notification_not_found")
    notification.refresh_from_db()
    assert notification.read_at is None


def test_read_all_marks_only_mine(api_for, db):
    user, other = f.UserFactory(), f.UserFactory()
    for n in range(3):
        _notify(user, n)
    _notify(other, 7)
    response = api_for(user).post("/api/v1/notifications/read-all")
    assert response.json() == {"updated": 3, "unread_count": 0}
    assert Notification.objects.get(recipient=other).read_at is None
    assert api_for(user).post("/api/v1/notifications/read-all").json()["updated"] == 0


def test_do_notify_is_idempotent_per_event_and_recipient(db):
    user = f.UserFactory()
    _notify(user, 1)
    _notify(user, 1)
    assert Notification.objects.filter(recipient=user).count() == 1


def test_schema_stays_valid(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/notifications", "/api/v1/notifications/consents", "/api/v1/events", "/api/v1/notifications/read-all"):
        assert path in paths


@pytest.mark.django_db(transaction=True)
def test_a_notice_outside_any_transaction_is_written_all_or_nothing(monkeypatch):
    user = f.UserFactory()

    def template_lookup_fails(kind):
        raise RuntimeError("template table unreachable")

    monkeypatch.setattr("notifications.actions.template_for", template_lookup_fails)
    with pytest.raises(RuntimeError):
        do_notify(recipients=[user], kind="x", title="t", event_key="k:outside", also_publish=[("s.1", "e", {})])
    assert not Notification.objects.filter(event_key="k:outside").exists()
    assert not Event.objects.filter(stream__in=["s.1", f"user.{user.pk}"]).exists()
