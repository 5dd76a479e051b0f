from datetime import timedelta

from django.db.models import Count

from residents.models import Membership, Role
from tests import factories as f
from tests.console.browser.conftest import PHONE, login, screenshot
from tests.console.conftest import refresh_snapshots, with_password


def _district(asgi_server):
    district = f.DistrictFactory(name="宝山区")
    street = f.StreetFactory(parent=district, name="友谊路街道")
    other_street = f.StreetFactory(parent=district, name="吴淞街道")
    n1 = f.NeighborhoodFactory(
        parent=street, name="宝林一村居委会", households=40, population=90, registered_party_members=5
    )
    n2 = f.NeighborhoodFactory(
        parent=street, name="宝林二村居委会", households=30, population=70, registered_party_members=3
    )
    far = f.NeighborhoodFactory(parent=other_street, name="塘后路居委会", households=20, population=50)
    for i in range(12):
        u = f.UserFactory()
        # Two people per household, households never spanning neighborhoods (as real keys).
        f.MembershipFactory(user=u, neighborhood=n1 if (i // 2) % 3 else n2, household_key=f"k{i // 2}")
        if i % 4 == 0:
            f.RoleFactory(user=u, region=u.memberships.first().neighborhood, kind=Role.Kind.PARTY_MEMBER)
    f.MembershipFactory(neighborhood=far, household_key="far")
    try:
        from community.models import Post
    except ImportError:
        Post = None
    if Post is not None:
        from django.utils import timezone

        now = timezone.now()
        for i in range(5):
            Post.objects.create(
                region=n1 if i % 2 else n2,
                author=u,
                section="neighbors",
                title=f"求助{i}",
                body="…",
                status="published",
                needs_answer=True,
                created_at=now,
                answered_at=now + timedelta(hours=i + 1) if i < 3 else None,
            )
    officer = with_password(f.officer(street, username="liujiedao", nickname="刘科长"))
    other = with_password(f.officer(other_street, username="sunjiedao", nickname="孙科长"))
    return street, officer, other


def test_dashboard_renders_charts_with_numbers_from_the_database(new_page, asgi_server):
    street, _officer, _other = _district(asgi_server)
    refresh_snapshots()
    page = new_page()
    login(page, "liujiedao")
    page.get_by_role("link", name="数据看板").click()
    page.get_by_label("区域").select_option(str(street.id))
    page.get_by_role("button", name="查看").click()
    page.wait_for_selector("#chart-coverage[data-rendered=true] canvas")
    page.wait_for_selector("#chart-coverage-trend[data-rendered=true] canvas")

    db = Membership.objects.filter(neighborhood__parent=street, status="approved").aggregate(
        h=Count("household_key", distinct=True), r=Count("user_id", distinct=True)
    )
    households = 40 + 30
    assert page.locator("[data-kpi=household_rate]").inner_text() == f"{db['h'] / households * 100:.1f}%"
    assert page.locator("[data-kpi=resident_rate]").inner_text() == f"{db['r'] / 160 * 100:.1f}%"
    party = Role.objects.filter(kind="party_member", region__parent=street).count()
    kpi = page.locator("[data-kpi=party_rate]")
    assert kpi.get_attribute("data-numerator") == str(party) and kpi.get_attribute("data-denominator") == "8"
    assert kpi.inner_text() == f"{party / 8 * 100:.1f}%"  # 5 + 3 on the two rolls
    # The chart draws the same series the table shows.
    series = page.evaluate("window.consoleCharts[0].getOption().series[0].data")
    assert len(series) == 2
    assert "塘后路" not in page.content()
    if page.locator("[data-table=posts]").count():
        from community.models import Post

        page.wait_for_selector("#chart-posts[data-rendered=true] canvas")
        posts = Post.objects.filter(region__parent=street, needs_answer=True)
        total = page.locator("[data-table=posts] tbody tr").last.locator("td")
        assert total.nth(0).inner_text() == str(posts.count())
        assert total.nth(1).inner_text() == str(posts.filter(answered_at__isnull=False).count())
        assert total.nth(3).inner_text() == "2.0"  # median of 1, 2, 3 hours
    screenshot(page, "dashboard-desktop")

    phone = new_page(PHONE)
    login(phone, "liujiedao")
    phone.goto(f"/console/dashboard/?region={street.id}")
    phone.wait_for_selector("#chart-coverage[data-rendered=true] canvas")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    screenshot(phone, "dashboard-phone")


def test_officer_of_another_street_sees_none_of_it(new_page, asgi_server):
    street, _officer, _other = _district(asgi_server)
    refresh_snapshots()
    page = new_page()
    login(page, "sunjiedao")
    response = page.goto(f"/console/dashboard/?region={street.id}")
    assert response.status == 404
    page.goto("/console/dashboard/")
    assert "宝林一村" not in page.content()
    screenshot(page, "dashboard-other-street")
