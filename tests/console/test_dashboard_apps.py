"""Dashboard figures from the apps, checked against counts taken straight from the database."""

from datetime import timedelta

from django.utils import timezone

from console import queries
from tests import factories as f
from tests.console import reference
from tests.console.conftest import refresh_snapshots


def _period():
    today = timezone.localdate()
    return queries.make_period(today - timedelta(days=30), today)


def test_medians_of_odd_and_even_groups_in_sql(neighborhood, other_neighborhood):
    from django.db.models import F

    from community import models as community

    now = timezone.now()
    author = f.resident(neighborhood)
    for region, answer_hours in ((neighborhood, [1, 2, 9]), (other_neighborhood, [1, 3, 5, 7])):
        for h in answer_hours:
            community.Post.objects.create(
                region=region,
                author=author,
                section="neighbors",
                title="t",
                body="b",
                status="published",
                needs_answer=True,
                created_at=now - timedelta(hours=10),
                answered_at=now - timedelta(hours=10 - h),
            )
    posts = community.Post.objects.filter(answered_at__isnull=False)
    med = reference.medians(posts, duration=F("answered_at") - F("created_at"), group="region_id")
    assert med[neighborhood.id] == timedelta(hours=2)
    assert med[other_neighborhood.id] == timedelta(hours=4)
    assert reference.medians(posts, duration=F("answered_at") - F("created_at"))[None] == timedelta(hours=3)


def test_post_figures_match_the_database(neighborhood, committee_staff, console_for):
    from community import models as community

    now = timezone.now()
    author = f.resident(neighborhood)
    for i in range(4):
        community.Post.objects.create(
            region=neighborhood,
            author=author,
            section="neighbors",
            title=f"帖{i}",
            body="b",
            status="published",
            needs_answer=True,
            created_at=now - timedelta(days=1),
            answered_at=(now - timedelta(days=1) + timedelta(hours=i + 1)) if i < 3 else None,
        )
    stats = reference.post_stats([neighborhood.id], _period())
    db_answered = community.Post.objects.filter(
        region=neighborhood, needs_answer=True, answered_at__isnull=False
    ).count()
    assert stats["per"][neighborhood.id]["posts"] == 4 and stats["per"][neighborhood.id]["answered"] == db_answered == 3
    assert stats["overall_median"] == timedelta(hours=2)
    refresh_snapshots()
    csv = console_for(committee_staff).get(f"/console/dashboard/?region={neighborhood.id}&table=posts&format=csv")
    assert "宝林一村居委会,4,3,75.0%,2.0" in csv.content.decode("utf-8-sig")


def test_deliberation_funnel_counts_how_far_topics_got(neighborhood, committee_staff, console_for, wechat_standin):
    from deliberation.actions.stages import do_transition_topic
    from deliberation.actions.topics import do_create_topic

    author = f.resident(neighborhood)
    for i in range(3):
        topic = do_create_topic(
            actor=author,
            neighborhood_id=neighborhood.pk,
            building_group_id=None,
            category="parking",
            title=f"议题{i}",
            body="b",
        )
        if i:
            do_transition_topic(topic_id=topic.pk, actor=committee_staff, to="discussing")
    funnel = reference.topic_funnel([neighborhood.id], _period())
    assert (funnel["proposed"], funnel["discussed"], funnel["voted"]) == (3, 2, 0)
    refresh_snapshots()
    page = console_for(committee_staff).get(f"/console/dashboard/?region={neighborhood.id}").content.decode()
    assert 'id="chart-funnel"' in page


def test_service_figures_by_category(neighborhood, street_officer, console_for):
    from services.actions.transitions import do_transition_service_request
    from services.models import ServiceRating
    from tests.console.test_dispatch_board import make_item, make_request

    item = make_item()
    done = make_request(neighborhood, item)
    do_transition_service_request(done.pk, actor=street_officer, to="accepted")
    make_request(neighborhood, item, due_in=timedelta(hours=-3))  # overdue, never accepted
    rated = make_request(neighborhood, item, status="completed", completed_at=timezone.now())
    ServiceRating.objects.create(request=rated, rater=rated.requester, score=5)
    [row] = reference.service_stats([neighborhood.id], _period())
    assert (row["requests"], row["overdue"], row["rated"], row["satisfied"]) == (3, 1, 1, 1)
    assert row["overdue_rate"] == round(1 / 3, 4) and row["satisfaction_rate"] == 1.0
    assert row["median_accept_hours"] is not None
    refresh_snapshots()
    xlsx = console_for(street_officer).get(
        f"/console/dashboard/?region={neighborhood.parent_id}&table=services&format=xlsx"
    )
    assert xlsx.status_code == 200
