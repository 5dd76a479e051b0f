"""Staff of the neighborhood read each evaluation; residents see only the summary."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deliberation.actions.evaluations import do_add_evaluation
from deliberation.actions.milestones import do_add_milestone
from deliberation.actions.stages import do_transition_topic
from tests import factories as f
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import member
from tests.deliberation.test_replies_milestones_evaluations import _implementing

pytestmark = pytest.mark.django_db


def _evaluating(neighborhood, zhangsan, staff, lisi):
    topic = _implementing(neighborhood, zhangsan, staff, lisi)
    do_add_milestone(topic_id=topic.pk, actor=staff, title="完工", progress=100)
    return do_transition_topic(topic_id=topic.pk, actor=staff, to="evaluating")


def _rate(topic, neighborhood, n):
    for i in range(n):
        do_add_evaluation(topic_id=topic.pk, actor=member(neighborhood), rating=i % 5 + 1, comment=f"评价{i}")


def _count(api, path):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_staff_page_through_every_evaluation_in_a_fixed_number_of_queries(neighborhood, staff, zhangsan, lisi):
    topic = _evaluating(neighborhood, zhangsan, staff, lisi)
    path = f"/api/v1/topics/{topic.pk}/evaluations"
    chen = Api(staff)
    chen.get(path)  # the token's first use writes last_used_at
    _rate(topic, neighborhood, 5)
    few, body = _count(chen, f"{path}?limit=100")
    _rate(topic, neighborhood, 45)
    many, body = _count(chen, f"{path}?limit=100")
    assert few == many and len(body["results"]) == 50
    assert body["results"][0]["comment"] == "评价44"  # newest first and body["results"][0]["user_name"]

    seen, cursor = [], None
    while True:
        page = chen.get(path, {"limit": 20, **({"cursor": cursor} if cursor else {})}).json()
        seen += [e["id"] for e in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 50


def test_residents_get_403_and_outsiders_404(neighborhood, staff, zhangsan, lisi, zhaoliu, other_neighborhood):
    topic = _evaluating(neighborhood, zhangsan, staff, lisi)
    do_add_evaluation(topic_id=topic.pk, actor=lisi, rating=4, comment="不错")
    path = f"/api/v1/topics/{topic.pk}/evaluations"
    assert_error(Api(lisi).get(path), 403, "staff_only")
    assert_error(Api(zhaoliu).get(path), 404)
    assert_error(Api(f.staff(other_neighborhood)).get(path), 404)
    assert_error(Api(staff).get(path, {"cursor": "garbage!"}), 400, "invalid_cursor")
    assert [e["comment"] for e in Api(staff).get(path).json()["results"]] == ["不错"]
