import io
from datetime import timedelta

from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from console import queries
from residents.models import Membership, Role
from tests import factories as f
from tests.console import reference
from tests.console.conftest import refresh_snapshots


def _join(neighborhood, household: str, **kw):
    user = f.UserFactory()
    f.MembershipFactory(user=user, neighborhood=neighborhood, household_key=household, **kw)
    return user


def _setup(neighborhood, other_neighborhood):
    neighborhood.households, neighborhood.population = 10, 20
    neighborhood.save()
    _join(neighborhood, "h1")
    _join(neighborhood, "h1")  # a second person of the same household
    _join(neighborhood, "h2")
    _join(
        neighborhood,
        "h3",
        status=Membership.Status.PENDING,
        is_current=False,
        decided_at=None,
    )
    party = _join(neighborhood, "h4")
    f.RoleFactory(user=party, region=neighborhood, kind=Role.Kind.PARTY_MEMBER)
    _join(other_neighborhood, "x1")


def test_coverage_counts_distinct_households_and_residents_of_approved_memberships(neighborhood, other_neighborhood):
    _setup(neighborhood, other_neighborhood)
    [row] = reference.coverage([neighborhood.id], until=timezone.now() + timedelta(minutes=1))
    assert (row.households_joined, row.residents_joined, row.party_members) == (3, 4, 1)
    assert row.household_rate == 0.3 and row.resident_rate == 0.2


def test_coverage_is_a_fixed_number_of_queries(neighborhood, street, django_assert_max_num_queries):
    ids = [f.NeighborhoodFactory(parent=street).id for _ in range(5)]
    with django_assert_max_num_queries(3):
        reference.coverage(ids, until=timezone.now())
    period = queries.make_period(timezone.localdate() - timedelta(days=300), timezone.localdate())
    with django_assert_max_num_queries(2):
        reference.coverage_trend(ids, period)


def test_trend_counts_joins_up_to_the_end_of_each_period(neighborhood):
    today = timezone.localdate()
    _join(neighborhood, "old", decided_at=timezone.now() - timedelta(days=60))
    _join(neighborhood, "new")
    period = queries.make_period(today - timedelta(days=70), today)
    trend = reference.coverage_trend([neighborhood.id], period)
    assert trend[0]["households_joined"] == 0
    assert trend[-1]["households_joined"] == 2
    assert 1 in [t["households_joined"] for t in trend]


def test_street_officer_dashboard_matches_the_database(neighborhood, other_neighborhood, street_officer, console_for):
    _setup(neighborhood, other_neighborhood)
    street = neighborhood.parent
    refresh_snapshots()
    page = console_for(street_officer).get(f"/console/dashboard/?region={street.id}").content.decode()
    db = (
        Membership.objects.filter(neighborhood__parent=street, status="approved")
        .exclude(household_key="")
        .aggregate(h=Count("household_key", distinct=True))
    )
    assert f"户覆盖率（{db['h']} / 10 户）" in page
    assert 'data-kpi="household_rate">30.0%' in page
    assert "塘后路" not in page


def test_officer_of_other_street_gets_404_for_my_street(street, other_officer, console_for):
    assert console_for(other_officer).get(f"/console/dashboard/?region={street.id}").status_code == 404
    assert console_for(other_officer).get("/console/dashboard/?region=abc").status_code == 404


def test_committee_staff_cannot_widen_to_the_street(neighborhood, committee_staff, console_for):
    client = console_for(committee_staff)
    assert client.get(f"/console/dashboard/?region={neighborhood.parent_id}").status_code == 404
    assert client.get("/console/dashboard/").status_code == 200


def test_district_admin_sees_every_street(neighborhood, other_neighborhood, district_admin, console_for):
    _setup(neighborhood, other_neighborhood)
    refresh_snapshots()
    page = (
        console_for(district_admin).get(f"/console/dashboard/?region={neighborhood.parent.parent_id}").content.decode()
    )
    # The district reads by street (each street's rolled-up rows); a street's page lists its neighborhoods.
    assert "友谊路街道" in page and "吴淞街道" in page and "街道/镇" in page
    street_page = console_for(district_admin).get(f"/console/dashboard/?region={neighborhood.parent_id}").content.decode()
    assert "宝林一村居委会" in street_page and "居委/村" in street_page


def test_coverage_exports_to_csv_and_xlsx(neighborhood, other_neighborhood, committee_staff, console_for):
    _setup(neighborhood, other_neighborhood)
    refresh_snapshots()
    client = console_for(committee_staff)
    csv = client.get(f"/console/dashboard/?region={neighborhood.id}&table=coverage&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("居委/村,户数,已加入户数,户覆盖率")
    assert lines[1].startswith("宝林一村居委会,10,3,30.0%,20,4,20.0%,1")
    xlsx = client.get(f"/console/dashboard/?region={neighborhood.id}&table=coverage&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]][:3] == ["宝林一村居委会", 10, 3]
    assert client.get(f"/console/dashboard/?region={neighborhood.id}&table=nope&format=csv").status_code == 404


def test_the_page_is_kept_until_the_next_refresh_and_redrawn_after_it(
    neighborhood, other_neighborhood, committee_staff, console_for
):
    _setup(neighborhood, other_neighborhood)
    refresh_snapshots()
    client = console_for(committee_staff)
    url = f"/console/dashboard/?region={neighborhood.id}"
    assert "3 / 10 户" in client.get(url).content.decode()
    _join(neighborhood, "h9")
    # Nothing was refreshed: the same figures (the snapshots did not change), read back from the cache.
    with CaptureQueriesContext(connection) as cached:
        assert "3 / 10 户" in client.get(url).content.decode()
    assert not any("console_durationhistogram" in q["sql"] for q in cached.captured_queries)
    refresh_snapshots()
    assert "4 / 10 户" in client.get(url).content.decode()
