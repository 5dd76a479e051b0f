"""Every create endpoint people could flood carries its core.throttling class.

One story per kind: with the rate turned down to 2/min, the third create answers 429
`rate_limited` with Retry-After, and no third row was written.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from community.models import Comment, Post, Report
from deliberation.models import Ballot, Reply, Support, Topic
from images.models import Image
from matters.models import Matter
from residents.models import ApiToken, Membership, PartyIdentityRequest, User
from services.models import ServicePlan, ServiceRequest
from tests import factories as f
from tests.community.conftest import jpeg_bytes, make_post
from tests.conftest import Api, assert_error
from tests.deliberation.conftest import member, topic_in
from tests.matters.conftest import report, world  # noqa: F401  (world: the fixture)
from tests.services.conftest import MEAL, item

LIMIT = 2


@pytest.fixture(autouse=True)
def tight(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: f"{LIMIT}/min" for scope in rates},
    }


def _flood(send, count_rows) -> None:
    """`send(i)` makes the i-th create; it must succeed twice, then be refused, writing nothing."""
    before = count_rows()
    for i in range(LIMIT):
        response = send(i)
        assert response.status_code in (200, 201), response.content
    refused = send(LIMIT)
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert count_rows() == before + LIMIT


def test_login_is_throttled_per_client(db, anon, wechat_standin):
    _flood(lambda i: anon.post("/api/v1/auth/wechat", {"code": f"demo-flooder-{i}"}), ApiToken.objects.count)


def test_posts_are_throttled(neighborhood, wechat_standin):
    api = Api(f.resident(neighborhood))
    body = {"neighborhood_id": neighborhood.pk, "section": "neighbors", "title": "周末义卖", "body": "周六上午"}
    _flood(lambda i: api.post("/api/v1/posts", {**body, "title": f"周末义卖{i}"}), Post.objects.count)


def test_comments_are_throttled(neighborhood, wechat_standin):
    post = make_post(neighborhood, f.resident(neighborhood))
    api = Api(f.resident(neighborhood))
    _flood(lambda i: api.post(f"/api/v1/posts/{post.pk}/comments", {"body": f"同意{i}"}), Comment.objects.count)


def test_reports_are_throttled(neighborhood):
    author = f.resident(neighborhood)
    posts = [make_post(neighborhood, author) for _ in range(LIMIT + 1)]
    api = Api(f.resident(neighborhood))
    _flood(lambda i: api.post(f"/api/v1/posts/{posts[i].pk}/reports", {"reason": "spam"}), Report.objects.count)


def test_image_uploads_are_throttled(neighborhood, wechat_standin):
    api = Api(f.resident(neighborhood))

    def upload(i):
        picture = SimpleUploadedFile(f"p{i}.jpg", jpeg_bytes(color=(i, 0, 0)), content_type="image/jpeg")
        return api.client.post("/api/v1/images", {"file": picture}, format="multipart")

    _flood(upload, Image.objects.count)


def test_service_requests_are_throttled(neighborhood):
    son = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, is_default=True)
    api = Api(son)
    meal = item("meal-delivery")
    _flood(lambda i: api.post("/api/v1/service-requests", {"item": meal.pk, "extra": MEAL}), ServiceRequest.objects.count)


def test_service_plans_are_throttled(neighborhood):
    son = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, is_default=True)
    api = Api(son)

    def plan(i):
        start = timezone.localdate() + timedelta(days=1 + 10 * i)
        return api.post("/api/v1/service-plans", {
            "item": item("meal-delivery").pk, "frequency": "daily", "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=2)).isoformat(), "time_slot": "午餐", "extra": {"diet": "低盐"},
        })

    _flood(plan, ServicePlan.objects.count)


def test_topics_are_throttled(neighborhood, wechat_standin):
    api = Api(member(neighborhood))
    body = {"neighborhood": neighborhood.pk, "category": "garbage", "body": "箱房异味大，建议改造。"}
    _flood(lambda i: api.post("/api/v1/topics", {**body, "title": f"垃圾箱房改造{i}"}), Topic.objects.count)


def test_replies_are_throttled(neighborhood, wechat_standin):
    topic = topic_in(neighborhood, member(neighborhood))
    api = Api(member(neighborhood))
    _flood(
        lambda i: api.post(f"/api/v1/topics/{topic.pk}/replies", {"body": f"赞成{i}", "stance": "support"}),
        Reply.objects.count,
    )


def test_supports_are_throttled(neighborhood, wechat_standin):
    author = member(neighborhood)
    topics = [topic_in(neighborhood, author, title=f"议题{i}") for i in range(LIMIT + 1)]
    api = Api(member(neighborhood))
    _flood(lambda i: api.post(f"/api/v1/topics/{topics[i].pk}/supports"), Support.objects.count)


def test_ballots_are_throttled(neighborhood, wechat_standin):
    author, staff = member(neighborhood), f.staff(neighborhood)
    topics = [topic_in(neighborhood, author, staff=staff, status=Topic.Status.VOTING, title=f"议题{i}") for i in range(3)]
    api = Api(member(neighborhood))
    _flood(lambda i: api.post(f"/api/v1/topics/{topics[i].pk}/ballots", {"choice": "yes"}), Ballot.objects.count)


def test_membership_applications_are_throttled(db):
    neighborhoods = [f.NeighborhoodFactory() for _ in range(LIMIT + 1)]
    api = Api(f.UserFactory())
    _flood(
        lambda i: api.post("/api/v1/memberships", {"neighborhood": neighborhoods[i].pk, "building": "5号楼", "room": "301室"}),
        Membership.objects.count,
    )


def test_party_identity_requests_are_throttled(db):
    user = f.UserFactory()
    neighborhoods = [f.NeighborhoodFactory() for _ in range(LIMIT + 1)]
    for i, neighborhood in enumerate(neighborhoods):
        f.MembershipFactory(user=user, neighborhood=neighborhood, is_current=(i == 0))
    api = Api(user)
    _flood(
        lambda i: api.post("/api/v1/party-identity", {"neighborhood": neighborhoods[i].pk, "party_branch": "党总支"}),
        PartyIdentityRequest.objects.count,
    )


def test_another_user_is_not_held_back_by_a_flooder(neighborhood):
    author = f.resident(neighborhood)
    posts = [make_post(neighborhood, author) for _ in range(LIMIT + 1)]
    flooder = Api(f.resident(neighborhood))
    for post in posts:
        flooder.post(f"/api/v1/posts/{post.pk}/reports", {"reason": "spam"})
    assert Api(f.resident(neighborhood)).post(f"/api/v1/posts/{posts[0].pk}/reports", {"reason": "spam"}).status_code == 201
    assert User.objects.count() >= 3


def test_matter_reports_are_throttled(world):  # noqa: F811
    api = Api(world.reporter)
    _flood(lambda i: report(api, world.repair, place=f"{i}号楼门口", insist=True), Matter.objects.count)
    assert api.get("/api/v1/matters?scope=mine").status_code == 200  # reading is not counted
