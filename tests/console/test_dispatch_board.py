"""The dispatch board over the services app."""

from datetime import timedelta

import pytest
from django.utils import timezone

from residents.models import Role, SensitiveAccessLog
from services.models import ProviderOrganization, ServiceCategory, ServiceItem, ServiceRequest, ServiceRequestEvent
from tests import factories as f


def make_item() -> ServiceItem:
    # Its own catalog row: transactional tests elsewhere flush the one the migration seeds.
    category = ServiceCategory.objects.create(code="zhucan-test", name="助餐")
    return ServiceItem.objects.create(
        category=category, code="songcan-test", name="送餐上门", description="午餐送到家", min_age=0
    )


@pytest.fixture
def item(db):
    return make_item()


@pytest.fixture
def provider(street):
    return ProviderOrganization.objects.create(name="友谊路助老服务社", street=street)


def make_request(neighborhood, item, *, status="submitted", due_in=timedelta(hours=2), **kw) -> ServiceRequest:
    now = timezone.now()
    resident = kw.pop("requester", None) or f.resident(neighborhood)
    return ServiceRequest.objects.create(
        item=item,
        requester=resident,
        neighborhood=neighborhood,
        street_id=neighborhood.parent_id,
        status=status,
        address="友谊路100弄5号301室",
        health_note="高血压",
        accept_due_at=now + due_in,
        complete_due_at=now + due_in + timedelta(hours=48),
        **kw,
    )


def test_board_lists_overdue_first_with_deadline_colours(neighborhood, item, street_officer, console_for):
    fresh = make_request(neighborhood, item)
    late = make_request(neighborhood, item, due_in=timedelta(hours=-1))
    page = console_for(street_officer).get("/console/dispatch/").content.decode()
    assert page.index(f'data-request="{late.id}"') < page.index(f'data-request="{fresh.id}"')
    assert "deadline-overdue" in page and "deadline-ok" in page
    assert "友谊路100弄5号301室" not in page  # no addresses on the board


def test_filters_narrow_the_board(neighborhood, item, street_officer, console_for):
    submitted = make_request(neighborhood, item)
    accepted = make_request(neighborhood, item, status="accepted")
    page = console_for(street_officer).get("/console/dispatch/?status=accepted").content.decode()
    assert f'data-request="{accepted.id}"' in page and f'data-request="{submitted.id}"' not in page


def test_officer_accepts_then_assigns_and_the_timeline_shows_both(
    neighborhood, item, provider, street_officer, console_for
):
    req = make_request(neighborhood, item)
    client = console_for(street_officer)
    client.post(f"/console/dispatch/{req.id}/transition/", {"to": "accepted", "from_status": "submitted"})
    client.post(
        f"/console/dispatch/{req.id}/transition/",
        {"to": "assigned", "from_status": "accepted", "assignee_org": provider.id},
    )
    req.refresh_from_db()
    assert req.status == "assigned" and req.assigned_org == provider
    page = client.get(f"/console/dispatch/{req.id}/").content.decode()
    assert 'data-event="accepted"' in page and 'data-event="assigned"' in page
    assert "改派" in page  # reassign offered on an assigned request


def test_second_officer_who_lost_the_race_is_told_and_nothing_changes(
    neighborhood, item, street_officer, committee_staff, console_for
):
    req = make_request(neighborhood, item)
    console_for(committee_staff).post(
        f"/console/dispatch/{req.id}/transition/", {"to": "accepted", "from_status": "submitted"}
    )
    response = console_for(street_officer).post(
        f"/console/dispatch/{req.id}/transition/",
        {"to": "rejected", "from_status": "submitted", "reason": "重复"},
        follow=True,
    )
    req.refresh_from_db()
    assert req.status == "accepted"
    assert "工单状态已变化" in response.content.decode()
    assert ServiceRequestEvent.objects.filter(request=req, to_status="rejected").count() == 0


def test_reject_needs_a_reason(neighborhood, item, street_officer, console_for):
    req = make_request(neighborhood, item)
    console_for(street_officer).post(
        f"/console/dispatch/{req.id}/transition/", {"to": "rejected", "from_status": "submitted"}
    )
    req.refresh_from_db()
    assert req.status == "submitted"


def test_bulk_assign_accepts_waiting_requests_and_reports_failures(
    neighborhood, other_neighborhood, item, provider, street_officer, console_for
):
    a = make_request(neighborhood, item)
    b = make_request(neighborhood, item, status="accepted")
    done = make_request(neighborhood, item, status="rejected", reject_reason="x")
    foreign = make_request(other_neighborhood, item)
    response = console_for(street_officer).post(
        "/console/dispatch/bulk-assign/",
        {"ids": [a.id, b.id, done.id, foreign.id], "assignee_org": provider.id},
        follow=True,
    )
    for r in (a, b, done, foreign):
        r.refresh_from_db()
    assert (a.status, b.status, done.status, foreign.status) == ("assigned", "assigned", "rejected", "submitted")
    body = response.content.decode()
    assert "已派单 2 件" in body and f"#{done.id}" in body


def test_full_address_view_is_logged(neighborhood, item, street_officer, console_for):
    req = make_request(neighborhood, item)
    client = console_for(street_officer)
    assert "友谊路100弄5号301室" not in client.get(f"/console/dispatch/{req.id}/").content.decode()
    assert "友谊路100弄5号301室" in client.get(f"/console/dispatch/{req.id}/?full=1").content.decode()
    assert SensitiveAccessLog.objects.filter(viewer=street_officer).exists()


def test_officer_of_other_street_gets_404_everywhere(neighborhood, item, other_officer, console_for):
    req = make_request(neighborhood, item)
    client = console_for(other_officer)
    assert f'data-request="{req.id}"' not in client.get("/console/dispatch/").content.decode()
    assert client.get(f"/console/dispatch/{req.id}/").status_code == 404
    assert client.get(f"/console/dispatch/{req.id}/row/").status_code == 404
    assert client.post(f"/console/dispatch/{req.id}/transition/", {"to": "accepted"}).status_code == 404
    req.refresh_from_db()
    assert req.status == "submitted"


def test_own_request_of_a_staff_member_is_not_a_dispatch_item(
    neighborhood, other_neighborhood, item, committee_staff, console_for
):
    f.MembershipFactory(user=committee_staff, neighborhood=other_neighborhood, is_current=False)
    own = make_request(other_neighborhood, item, requester=committee_staff)
    assert console_for(committee_staff).get(f"/console/dispatch/{own.id}/").status_code == 404


def test_home_counts_new_and_overdue_requests(neighborhood, item, committee_staff, console_for):
    make_request(neighborhood, item)
    make_request(neighborhood, item, status="accepted", due_in=timedelta(hours=-60))
    page = console_for(committee_staff).get("/console/").content.decode()
    assert 'data-card="service_new"' in page and 'data-card="service_overdue"' in page


def test_realtime_token_is_short_lived_and_needs_csrf(street_officer):
    from django.test import Client

    from residents.models import ApiToken

    client = Client(enforce_csrf_checks=True)
    client.force_login(street_officer)
    assert client.post("/console/realtime-token/").status_code == 403
    client.get("/console/")
    response = client.post("/console/realtime-token/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    token = ApiToken.find(response.json()["token"])
    assert token.user == street_officer
    assert token.expires_at - timezone.now() <= timedelta(minutes=5)


def test_board_streams_are_the_street_for_officers_and_neighborhoods_for_committee_staff(
    neighborhood, street_officer, committee_staff, console_for
):
    officer_page = console_for(street_officer).get("/console/dispatch/").content.decode()
    assert f"staff.street.{neighborhood.parent_id}" in officer_page
    staff_page = console_for(committee_staff).get("/console/dispatch/").content.decode()
    assert f"staff.neighborhood.{neighborhood.id}" in staff_page and "staff.street" not in staff_page
    _ = Role


def test_counts_json_is_the_boards_cards_for_my_region_only(
    neighborhood, other_neighborhood, item, street_officer, other_officer, console_for
):
    make_request(neighborhood, item)
    make_request(neighborhood, item, status="assigned")
    make_request(neighborhood, item, status="in_service", due_in=timedelta(hours=-100))
    make_request(other_neighborhood, item)
    counts = console_for(street_officer).get("/console/dispatch/counts/").json()
    assert counts == {"submitted": 1, "accepted": 0, "in_service": 2, "overdue": 1}
    assert console_for(other_officer).get("/console/dispatch/counts/").json()["submitted"] == 1


def test_home_counts_json_matches_the_cards(neighborhood, item, committee_staff, moderator, console_for):
    make_request(neighborhood, item)
    counts = console_for(committee_staff).get("/console/counts/").json()
    assert counts["service_new"] == 1 and set(counts) >= {"service_overdue", "unanswered", "reported", "memberships"}
    # A moderator who is not staff gets the moderation count only.
    assert set(console_for(moderator).get("/console/counts/").json()) == {"reported"}


def test_a_changed_row_is_redrawn_without_the_new_marker(neighborhood, item, street_officer, console_for):
    request = make_request(neighborhood, item)
    client = console_for(street_officer)
    assert "is-new" in client.get(f"/console/dispatch/{request.id}/row/").content.decode()
    assert "is-new" not in client.get(f"/console/dispatch/{request.id}/row/?changed=1").content.decode()


def test_counts_json_needs_a_console_login(neighborhood, console_for):
    from django.test import Client

    assert Client().get("/console/dispatch/counts/").status_code == 302
    assert console_for(f.resident(neighborhood)).get("/console/counts/").status_code == 403


def test_officer_completes_on_the_providers_behalf_from_the_board(
    neighborhood, item, provider, street_officer, console_for
):
    req = make_request(neighborhood, item)
    client = console_for(street_officer)
    client.post(f"/console/dispatch/{req.id}/transition/", {"to": "accepted", "from_status": "submitted"})
    client.post(
        f"/console/dispatch/{req.id}/transition/",
        {"to": "assigned", "from_status": "accepted", "assignee_org": provider.id},
    )
    page = client.get(f"/console/dispatch/{req.id}/").content.decode()
    assert 'value="completed"' in page
    client.post(f"/console/dispatch/{req.id}/transition/", {"to": "completed", "from_status": "assigned"})
    req.refresh_from_db()
    assert req.status == "assigned"  # no note: refused, nothing changed
    client.post(
        f"/console/dispatch/{req.id}/transition/",
        {"to": "completed", "from_status": "assigned", "note": "服务社电话确认已送达"},
    )
    req.refresh_from_db()
    assert req.status == "completed" and req.completion_note == "服务社电话确认已送达"


def _caption(page: str) -> str:
    import re

    return re.search(r"<caption>(.*?)</caption>", page, re.S).group(1)


def test_caption_counts_the_rows_shown(neighborhood, item, street_officer, console_for):
    resident = f.resident(neighborhood)
    for due in (timedelta(hours=2), timedelta(hours=-1), timedelta(hours=5)):
        make_request(neighborhood, item, due_in=due, requester=resident)
    make_request(neighborhood, item, status="completed", requester=resident)  # not on the working view
    page = console_for(street_officer).get("/console/dispatch/").content.decode()
    rows = page.count("<tr data-request=")
    assert rows == 3
    assert 'data-row-count="3">3</span> 件' in _caption(page) and _caption(page).startswith("共")


def test_caption_of_a_paged_board_counts_this_pages_rows(neighborhood, item, street_officer, console_for):
    from console.views.dispatch import PAGE_SIZE

    resident = f.resident(neighborhood)
    for _ in range(PAGE_SIZE + 2):
        make_request(neighborhood, item, requester=resident)
    client = console_for(street_officer)
    for number, expected in ((1, PAGE_SIZE), (2, 2)):
        page = client.get(f"/console/dispatch/?page={number}").content.decode()
        assert page.count("<tr data-request=") == expected
        assert _caption(page).startswith("本页") and f'data-row-count="{expected}">{expected}</span>' in _caption(page)
