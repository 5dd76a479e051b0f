"""Comments with one level of replies; likes once per person, counts right under concurrency."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, close_old_connections

from community.actions import do_like_post
from community.models import Like, Post
from tests import factories as f
from tests.community.conftest import make_post
from tests.conftest import assert_error


def test_comment_and_one_level_of_replies(api_for, zhangsan, lisi, neighborhood, standin):
    post = make_post(neighborhood, zhangsan)
    url = f"/api/v1/posts/{post.id}/comments"
    top = api_for(lisi).post(url, {"body": "我来帮忙"}).json()
    reply = api_for(zhangsan).post(url, {"body": "谢谢", "parent_id": top["id"]})
    assert reply.status_code == 201 and reply.json()["parent_id"] == top["id"]
    assert_error(api_for(lisi).post(url, {"body": "再回复", "parent_id": reply.json()["id"]}), 400, "reply_too_deep")
    assert_error(api_for(lisi).post(url, {"body": ""}), 400, "invalid_input")
    assert_error(api_for(lisi).post(url, {"body": "x", "parent_id": 99999}), 400, "parent_not_found")
    listed = api_for(zhangsan).get(url).json()["results"]
    assert [c["body"] for c in listed] == ["我来帮忙", "谢谢"]
    assert listed[0]["author"]["badges"][0]["label"] == "党员"
    assert Post.objects.get(pk=post.id).comment_count == 2


def test_comment_double_submit_with_idempotency_key_makes_one(api_for, zhangsan, neighborhood, standin):
    post = make_post(neighborhood, zhangsan)
    api = api_for(zhangsan)
    a = api.post(f"/api/v1/posts/{post.id}/comments", {"body": "好"}, headers={"Idempotency-Key": "c1"})
    b = api.post(f"/api/v1/posts/{post.id}/comments", {"body": "好"}, headers={"Idempotency-Key": "c1"})
    assert a.json()["id"] == b.json()["id"] and post.comments.count() == 1


def test_like_is_once_per_person_and_idempotent(api_for, zhangsan, lisi, neighborhood):
    post = make_post(neighborhood, zhangsan)
    url = f"/api/v1/posts/{post.id}/like"
    assert api_for(lisi).post(url).json() == {"liked": True, "like_count": 1}
    assert api_for(lisi).post(url).json() == {"liked": True, "like_count": 1}
    assert api_for(zhangsan).post(url).json()["like_count"] == 2
    feed = api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"][0]
    assert feed["liked_by_me"] is True and feed["like_count"] == 2
    assert api_for(lisi).delete(url).json() == {"liked": False, "like_count": 1}
    assert api_for(lisi).delete(url).json() == {"liked": False, "like_count": 1}
    assert api_for(lisi).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"][0]["liked_by_me"] is False


def _busy_retry(fn):
    """The test database is SQLite's shared-cache memory DB, which answers a concurrent writer with
    "table is locked" at once instead of waiting (the file DB waits up to 20 s; PostgreSQL takes row
    locks). Waiting here is what those databases do themselves."""
    for _ in range(200):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("database stayed locked")


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_are_all_counted_once(neighborhood):
    author = f.resident(neighborhood)
    post = make_post(neighborhood, author)
    likers = [f.resident(neighborhood) for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(likers) * 2)

    def like(user):
        try:
            barrier.wait()
            _busy_retry(lambda: do_like_post(post=post, actor=user))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    # Everyone taps twice at once.
    threads = [threading.Thread(target=like, args=(u,)) for u in likers for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    post.refresh_from_db()
    assert Like.objects.filter(post=post).count() == len(likers)
    assert post.like_count == len(likers)
