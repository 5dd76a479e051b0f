"""After completion the requester rates 1–5; staff read satisfaction per item, provider, neighborhood, street."""

from __future__ import annotations

import pytest

from services.actions.ratings import do_rate_service_request
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRating
from tests import factories as f
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item

STATS = "/api/v1/service-stats/satisfaction"


def _completed(world, requester=None, code="meal-delivery", extra=MEAL, org=None):
    requester = requester or world.son
    req = do_create_service_request(check_create_service_request(actor=requester, item=item(code), extra=extra))
    do_transition_service_request(req.pk, actor=world.staff, to="accepted")
    do_transition_service_request(req.pk, actor=world.staff, to="assigned", assignee_org_id=(org or world.org).pk)
    do_transition_service_request(req.pk, actor=world.worker, to="in_service")
    do_transition_service_request(req.pk, actor=world.worker, to="completed")
    return req


def test_requester_rates_once(world, api_for):
    req = _completed(world)
    api = api_for(world.son)
    url = f"/api/v1/service-requests/{req.pk}/rating"
    assert api.post(url, {"score": 4, "comment": "准时"}, headers={"Idempotency-Key": "r1"}).status_code == 201
    assert api.post(url, {"score": 4, "comment": "准时"}, headers={"Idempotency-Key": "r1"}).status_code == 201
    error = assert_error(api.post(url, {"score": 1}), 409, "already_rated")
    assert error["detail"]["current"] == "rated"
    assert ServiceRating.objects.filter(request=req).count() == 1


def test_rating_before_completion_is_409_and_by_someone_else_is_403_or_404(world, api_for):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    url = f"/api/v1/service-requests/{req.pk}/rating"
    assert_error(api_for(world.son).post(url, {"score": 5}), 409, "request_state_changed")
    assert_error(api_for(world.staff).post(url, {"score": 5}), 403, "transition_not_allowed")
    assert_error(api_for(world.neighbor).post(url, {"score": 5}), 404)


@pytest.mark.parametrize("body", [{}, {"score": 0}, {"score": 6}, {"score": "好"}, {"score": 5, "comment": "x" * 501}])
def test_malformed_rating_is_400(world, api_for, body):
    req = _completed(world)
    assert_error(api_for(world.son).post(f"/api/v1/service-requests/{req.pk}/rating", body), 400, "invalid_input")
    req.refresh_from_db()
    assert req.status == "completed"


def test_the_database_refuses_a_second_rating_and_a_score_out_of_range(world):
    from django.db import IntegrityError, transaction

    req = _completed(world)
    do_rate_service_request(req.pk, actor=world.son, score=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceRating.objects.create(request=req, rater=world.son, score=3)
    req2 = _completed(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceRating.objects.create(request=req2, rater=world.son, score=9)


def test_satisfaction_matches_the_ratings_given(world, api_for):
    other_elder_owner = f.resident(world.neighborhood)
    f.BeneficiaryFactory(owner=other_elder_owner, neighborhood=world.neighborhood, birth_year=1940, is_default=True)
    scores = [5, 5, 4, 3, 1]  # 3 of 5 satisfied, average 3.6
    for i, score in enumerate(scores):
        requester = world.son if i % 2 == 0 else other_elder_owner
        req = _completed(world, requester=requester)
        do_rate_service_request(req.pk, actor=requester, score=score)
    escort = _completed(world, code="medical-escort", extra={"hospital": "华山医院"})
    do_rate_service_request(escort.pk, actor=world.son, score=2)

    staff = api_for(world.staff)
    by_item = staff.get(STATS, {"group_by": "item"}).json()
    assert by_item["overall"] == {"ratings": 6, "satisfied": 3, "satisfaction_rate": 0.5, "average_score": 3.33}
    meal = next(g for g in by_item["groups"] if g["name"] == "送餐上门")
    assert meal == {"id": item("meal-delivery").pk, "name": "送餐上门", "ratings": 5, "satisfied": 3,
                    "satisfaction_rate": 0.6, "average_score": 3.6}
    provider = staff.get(STATS, {"group_by": "provider"}).json()["groups"]
    assert provider == [{"id": world.org.pk, "name": "友谊路助老服务社", "ratings": 6, "satisfied": 3,
                         "satisfaction_rate": 0.5, "average_score": 3.33}]
    street = api_for(world.officer).get(STATS, {"group_by": "street"}).json()["groups"]
    assert [(g["id"], g["ratings"]) for g in street] == [(world.street.pk, 6)]
    neighborhood = staff.get(STATS, {"group_by": "neighborhood"}).json()["groups"]
    assert [(g["name"], g["satisfaction_rate"]) for g in neighborhood] == [(world.neighborhood.name, 0.5)]


def test_satisfaction_is_scoped_to_the_region_and_the_dates(world, api_for):
    req = _completed(world)
    do_rate_service_request(req.pk, actor=world.son, score=5)
    assert api_for(world.other_officer).get(STATS).json()["overall"]["ratings"] == 0
    assert api_for(world.staff).get(STATS, {"from": "2000-01-01", "to": "2000-12-31"}).json()["overall"]["ratings"] == 0
    assert_error(api_for(world.son).get(STATS), 403, "staff_only")
    assert_error(api_for(world.staff).get(STATS, {"group_by": "color"}), 400, "invalid_input")
    assert_error(api_for(world.staff).get(STATS, {"from": "昨天"}), 400, "invalid_input")
