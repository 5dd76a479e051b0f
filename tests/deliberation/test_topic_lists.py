"""Topic list: scoped, filtered, keyset-paged, fixed query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deliberation.actions.supports import do_add_support
from deliberation.actions.topics import do_create_topic
from deliberation.models import Topic
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import make_image, topic_in

pytestmark = pytest.mark.django_db


def _make(neighborhood, author, n, images: bool = False, **kw):
    for i in range(n):
        image_ids = [make_image(author).pk, make_image(author, status="checking").pk] if images else []
        topic = do_create_topic(
            actor=author,
            neighborhood_id=neighborhood.pk,
            building_group_id=None,
            category=kw.get("category", "parking"),
            title=f"议题{i}",
            body="内容",
            image_ids=image_ids,
        )
        do_add_support(topic_id=topic.pk, actor=author)


def _queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path)
    assert r.status_code == 200
    return len(ctx.captured_queries), r.json()


def test_list_query_count_is_the_same_for_5_and_50_topics(neighborhood, staff, zhangsan, lisi):
    zs, ls = Api(zhangsan), Api(lisi)
    zs.get("/api/v1/topics")  # the token's first use writes last_used_at; keep it out of the count
    ls.get("/api/v1/topics")
    _make(neighborhood, zhangsan, 5, images=True)
    few, body = _queries(zs, "/api/v1/topics?limit=100")
    few_other, other = _queries(ls, "/api/v1/topics?limit=100")
    assert len(body["results"]) == 5
    _make(neighborhood, zhangsan, 45, images=True)
    many, body = _queries(zs, "/api/v1/topics?limit=100")
    many_other, other = _queries(ls, "/api/v1/topics?limit=100")
    assert len(body["results"]) == 50
    assert few == many and few_other == many_other
    assert body["results"][0]["supported_by_me"] is True and body["results"][0]["support_count"] == 1
    # Thumbnails of every topic came with the page: the author sees both, a neighbour the passed one.
    assert {len(t["thumbnails"]) for t in body["results"]} == {2}
    assert {len(t["thumbnails"]) for t in other["results"]} == {1}


def test_keyset_pages_cover_every_topic_once(neighborhood, zhangsan):
    _make(neighborhood, zhangsan, 7)
    zs, seen, cursor = Api(zhangsan), [], None
    while True:
        body = zs.get("/api/v1/topics", {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [t["id"] for t in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    assert_error(zs.get("/api/v1/topics", {"cursor": "garbage!"}), 400, "invalid_cursor")
    assert_error(zs.get("/api/v1/topics", {"status": "nonsense"}), 400, "invalid_input")


def test_list_is_scoped_and_filtered(
    neighborhood, other_neighborhood, group, other_group, staff, zhangsan, neighbor_in_other_group, zhaoliu
):
    _make(neighborhood, zhangsan, 2, category="garbage")
    elevator = topic_in(neighborhood, zhangsan, group=group, staff=staff, category="elevator", title="加装电梯")
    _make(other_neighborhood, zhaoliu, 1)

    ids = lambda client, **q: {t["id"] for t in client.get("/api/v1/topics", q).json()["results"]}  # noqa: E731
    assert len(ids(Api(zhangsan))) == 3 and elevator.pk in ids(Api(zhangsan))
    assert elevator.pk not in ids(Api(neighbor_in_other_group)) and len(ids(Api(neighbor_in_other_group))) == 2
    assert len(ids(Api(zhaoliu))) == 1
    assert ids(Api(zhaoliu), neighborhood=neighborhood.pk) == set()
    assert ids(Api(staff)) >= {elevator.pk}
    assert ids(Api(zhangsan), category="elevator") == {elevator.pk}
    assert ids(Api(zhangsan), status="discussing") == set()


def test_topic_detail_shows_my_support_and_threshold(neighborhood, staff, zhangsan):
    topic = topic_in(neighborhood, zhangsan, staff=staff)
    Api(zhangsan).post(f"/api/v1/topics/{topic.pk}/supports")
    body = Api(zhangsan).get(f"/api/v1/topics/{topic.pk}").json()
    assert body["supported_by_me"] and body["support_households"] == 1 and body["support_threshold"] == 10
    assert body["vote"] is None and body["decision"] is None and body["events"][0]["to_status"] == "proposed"
    assert_error(Api(zhangsan).get("/api/v1/topics/999999"), 404, "topic_not_found")


def test_create_topic_validates_and_scopes(neighborhood, other_neighborhood, group, other_group, zhangsan, wangwu):
    zs = Api(zhangsan)
    assert_error(zs.post("/api/v1/topics", {"neighborhood": neighborhood.pk, "category": "rocket", "title": "x"}), 400)
    assert_error(
        zs.post(
            "/api/v1/topics",
            {"neighborhood": other_neighborhood.pk, "category": "other", "title": "越界议题", "body": "内容"},
        ),
        404,
    )
    assert_error(
        zs.post(
            "/api/v1/topics",
            {
                "neighborhood": neighborhood.pk,
                "building_group": other_group.pk,
                "category": "elevator",
                "title": "别的楼组",
                "body": "内容",
            },
        ),
        404,
    )
    assert_error(
        Api(wangwu).post(
            "/api/v1/topics", {"neighborhood": neighborhood.pk, "category": "other", "title": "未认证", "body": "内容"}
        ),
        403,
        "not_verified",
    )
    body = {"neighborhood": neighborhood.pk, "category": "other", "title": "重复提交", "body": "内容"}
    r1 = zs.post("/api/v1/topics", body, headers={"Idempotency-Key": "t-1"})
    r2 = zs.post("/api/v1/topics", body, headers={"Idempotency-Key": "t-1"})
    assert r1.status_code == r2.status_code == 201 and r1.json()["id"] == r2.json()["id"]
    assert Topic.objects.filter(title="重复提交").count() == 1
    assert Topic.objects.count() == 1
