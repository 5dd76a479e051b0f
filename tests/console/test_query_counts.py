"""Console lists run a fixed number of SQL queries whatever the page size."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from residents.models import Membership
from tests import factories as f


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_dispatch_board_costs_the_same_for_5_and_40_requests(neighborhood, street_officer, console_for):
    from tests.console.test_dispatch_board import make_item, make_request

    item = make_item()
    client = console_for(street_officer)
    for _ in range(5):
        make_request(neighborhood, item)
    few = _queries(client, "/console/dispatch/")
    for _ in range(35):
        make_request(neighborhood, item)
    assert _queries(client, "/console/dispatch/") == few


def test_membership_queue_costs_the_same_for_5_and_30(neighborhood, committee_staff, console_for):
    client = console_for(committee_staff)
    for _ in range(5):
        f.MembershipFactory(neighborhood=neighborhood, status=Membership.Status.PENDING, is_current=False)
    few = _queries(client, "/console/memberships/")
    for _ in range(25):
        f.MembershipFactory(neighborhood=neighborhood, status=Membership.Status.PENDING, is_current=False)
    assert _queries(client, "/console/memberships/") == few


def test_dashboard_costs_the_same_for_2_and_12_neighborhoods(street, street_officer, console_for):
    client = console_for(street_officer)
    for _ in range(2):
        f.NeighborhoodFactory(parent=street)
    url = f"/console/dashboard/?region={street.id}"
    few = _queries(client, url)
    for _ in range(10):
        f.NeighborhoodFactory(parent=street)
    assert _queries(client, url) == few
