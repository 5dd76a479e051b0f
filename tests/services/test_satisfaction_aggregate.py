"""Satisfaction is read from a daily aggregate that the rating action keeps in its own
transaction: it always equals a direct count of the ratings, also when ratings land at once,
and the stats endpoint never scans the ratings table."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from services.actions.ratings import do_rate_service_request, do_rebuild_satisfaction_daily
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ProviderOrganization, SatisfactionDaily, ServiceRating
from tests import factories as f
from tests.conftest import Api, assert_error
from tests.services.conftest import MEAL, item, volunteer

STATS = "/api/v1/service-stats/satisfaction"
ESCORT = {"hospital": "华山医院"}


def _completed(requester, staff, code, extra, *, org=None, helper=None):
    req = do_create_service_request(check_create_service_request(actor=requester, item=item(code), extra=extra))
    do_transition_service_request(req.pk, actor=staff, to="accepted")
    do_transition_service_request(
        req.pk, actor=staff, to="assigned", assignee_org_id=org.pk if org else None,
        assignee_user_id=helper.pk if helper else None,
    )
    doer = helper or org.members.first()
    do_transition_service_request(req.pk, actor=doer, to="in_service")
    do_transition_service_request(req.pk, actor=doer, to="completed")
    return req


def _direct_counts() -> dict[tuple, tuple[int, int, int]]:
    """What the aggregate must say, counted straight from the ratings."""
    rows = (
        ServiceRating.objects.values("request__item_id", "request__assigned_org_id", "request__neighborhood_id")
        .annotate(n=Count("id"), happy=Count("id", filter=Q(score__gte=4)), total=Sum("score"))
        .order_by()
    )
    today = timezone.localdate()
    return {
        (today, r["request__item_id"], r["request__assigned_org_id"] or 0, r["request__neighborhood_id"]): (r["n"], r["happy"], r["total"])
        for r in rows
    }


def _aggregate() -> dict[tuple, tuple[int, int, int]]:
    return {
        (row.date, row.item_id, row.provider_key, row.neighborhood_id): (row.ratings, row.satisfied, row.score_sum)
        for row in SatisfactionDaily.objects.all()
    }


def test_the_aggregate_follows_each_rating_and_ignores_refused_ones(world, api_for):
    helper = volunteer(world.street, nickname="志愿者小李")
    reqs = [
        _completed(world.son, world.staff, "meal-delivery", MEAL, org=world.org),
        _completed(world.son, world.staff, "meal-delivery", MEAL, org=world.org),
        _completed(world.son, world.staff, "meal-delivery", MEAL, helper=helper),  # no organization
        _completed(world.son, world.staff, "medical-escort", ESCORT, org=world.org),
    ]
    for req, score in zip(reqs, [5, 3, 4, 1], strict=True):
        do_rate_service_request(req.pk, actor=world.son, score=score)
    son = api_for(world.son)
    extra = _completed(world.son, world.staff, "meal-delivery", MEAL, org=world.org)
    assert_error(son.post(f"/api/v1/service-requests/{extra.pk}/rating", {"score": 5, "comment": "赌博"}), 400)
    assert_error(son.post(f"/api/v1/service-requests/{reqs[0].pk}/rating", {"score": 1}), 409)

    assert _aggregate() == _direct_counts()
    meal_by_org = SatisfactionDaily.objects.get(item=item("meal-delivery"), provider=world.org)
    assert (meal_by_org.ratings, meal_by_org.satisfied, meal_by_org.score_sum) == (2, 1, 8)
    by_volunteer = SatisfactionDaily.objects.get(item=item("meal-delivery"), provider_key=0)
    assert by_volunteer.provider_id is None and by_volunteer.street_id == world.street.pk
    providers = api_for(world.staff).get(STATS, {"group_by": "provider"}).json()["groups"]
    assert [(g["name"], g["ratings"]) for g in providers] in (
        [("未派单", 1), ("友谊路助老服务社", 3)], [("友谊路助老服务社", 3), ("未派单", 1)],  # NULL sorts by backend
    )


def test_the_stats_endpoint_reads_the_aggregate_not_the_ratings(world, api_for):
    staff = api_for(world.staff)

    def queries_for_stats():
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get(STATS, {"group_by": "item"}).status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    req = _completed(world.son, world.staff, "meal-delivery", MEAL, org=world.org)
    do_rate_service_request(req.pk, actor=world.son, score=5)
    staff.get(STATS)  # the token's last_used_at write happens once
    few = queries_for_stats()
    for _ in range(6):
        req = _completed(world.son, world.staff, "meal-delivery", MEAL, org=world.org)
        do_rate_service_request(req.pk, actor=world.son, score=4)
    many = queries_for_stats()
    assert len(few) == len(many)
    assert not [sql for sql in many if "services_servicerating" in sql]
    assert SatisfactionDaily.objects.count() == 1


def test_rebuilding_from_the_ratings_gives_the_same_rows(world):
    for score in (5, 2, 4):
        req = _completed(world.son, world.staff, "meal-delivery", MEAL, org=world.org)
        do_rate_service_request(req.pk, actor=world.son, score=score)
    before = _aggregate()
    SatisfactionDaily.objects.update(ratings=99, satisfied=0)  # drifted, e.g. after a manual data fix
    assert do_rebuild_satisfaction_daily() == 1
    assert _aggregate() == before == _direct_counts()


def test_the_migration_backfills_ratings_given_before_the_aggregate_existed(world):
    from django.apps import apps

    req = _completed(world.son, world.staff, "meal-delivery", MEAL, org=world.org)
    do_rate_service_request(req.pk, actor=world.son, score=5)
    SatisfactionDaily.objects.all().delete()
    importlib.import_module("services.migrations.0005_satisfaction_daily").backfill(apps, None)
    assert _aggregate() == _direct_counts() != {}


# --- ratings landing at once ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_aggregate_equals_a_direct_count_after_concurrent_ratings(seeded_catalog, street, neighborhood):
    son = f.resident(neighborhood)
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, birth_year=1938, is_default=True)
    staff = f.staff(neighborhood)
    org = ProviderOrganization.objects.create(name="友谊路助老服务社", street=street)
    org.members.add(f.UserFactory())
    helper = volunteer(street)
    reqs = [_completed(son, staff, "meal-delivery", MEAL, org=org) for _ in range(3)]
    reqs.append(_completed(son, staff, "meal-delivery", MEAL, helper=helper))
    reqs += [_completed(son, staff, "medical-escort", ESCORT, org=org) for _ in range(2)]
    scores = [5, 4, 2, 3, 5, 1]
    api = Api(son)
    barrier = threading.Barrier(len(reqs))
    codes: list = [None] * len(reqs)

    def rate(index):
        try:
            barrier.wait(timeout=10)
            response = api.post(f"/api/v1/service-requests/{reqs[index].pk}/rating", {"score": scores[index]})
            codes[index] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=rate, args=(i,)) for i in range(len(reqs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [201] * len(reqs)
    assert ServiceRating.objects.count() == len(reqs)
    assert _aggregate() == _direct_counts()
    assert sum(r.ratings for r in SatisfactionDaily.objects.all()) == len(reqs)
    overall = Api(staff).get(STATS).json()["overall"]
    assert overall == {"ratings": 6, "satisfied": 3, "satisfaction_rate": 0.5, "average_score": 3.33}
