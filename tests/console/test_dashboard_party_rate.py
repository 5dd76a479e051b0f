"""Issue 15 item 9: 党员亮身份率 is a rate — verified party members showing the badge over the
neighborhood's party roll — on the page, in its JSON and in the exports, and a street's or
the district's rate is its sums divided, not an average of its neighborhoods' rates.

The expected figures are worked out by hand from the rows built here:

    宝林一村   roll 8   badges 3 (a 4th was revoked, a 5th only asked)   3/8  = 37.5 %
    宝林二村   roll 2   badges 2                                         2/2  = 100.0 %
    友谊路街道  roll 10  badges 5                                         5/10 = 50.0 %  (the mean of the rates would say 68.8 %)
    塘后路     roll 4   badges 1                                         1/4  = 25.0 %
    宝山区     roll 14  badges 6                                         6/14 = 42.9 %
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from residents.models import PartyIdentityRequest, Role
from tests import factories as f
from tests.console.conftest import refresh_snapshots


def _badges(neighborhood, n: int) -> None:
    for _ in range(n):
        user = f.resident(neighborhood)
        f.RoleFactory(user=user, region=neighborhood, kind=Role.Kind.PARTY_MEMBER)


@pytest.fixture
def world(neighborhood, other_neighborhood, street):
    second = f.NeighborhoodFactory(parent=street, name="宝林二村居委会")
    for region, roll in ((neighborhood, 8), (second, 2), (other_neighborhood, 4)):
        region.registered_party_members = roll
        region.save(update_fields=["registered_party_members"])
    _badges(neighborhood, 3)
    _badges(second, 2)
    _badges(other_neighborhood, 1)
    # Not showing the badge: a revoked role, a request staff have not verified, a staff role.
    revoked = f.resident(neighborhood)
    f.RoleFactory(
        user=revoked,
        region=neighborhood,
        kind=Role.Kind.PARTY_MEMBER,
        revoked_at=timezone.now() - timedelta(hours=1),
    )
    asking = f.resident(neighborhood)
    PartyIdentityRequest.objects.create(user=asking, neighborhood=neighborhood, party_branch="宝林一村党总支")
    f.staff(neighborhood)
    refresh_snapshots()
    return {"second": second}


def _chart(page: str) -> dict:
    raw = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    return json.loads(raw)


def _csv_rows(client, url: str) -> list[list[str]]:
    import csv

    body = client.get(url).content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_street_page_shows_the_rate_from_sums(world, neighborhood, street, street_officer, console_for):
    client = console_for(street_officer)
    page = client.get(f"/console/dashboard/?region={street.id}").content.decode()
    assert 'data-kpi="party_rate" data-numerator="5" data-denominator="10">50.0%' in page
    assert "党员亮身份率（5 / 10 名在册党员）" in page
    assert "68.8%" not in page  # the mean of 37.5 % and 100 % is not the street's rate
    chart = _chart(page)["coverage"]
    by_name = dict(
        zip(
            chart["names"],
            zip(chart["party_members"], chart["party_registered"], chart["party_rate"], strict=True),
            strict=True,
        )
    )
    assert by_name == {"宝林一村居委会": (3, 8, 37.5), "宝林二村居委会": (2, 2, 100.0)}
    assert chart["total"] == {"party_members": 5, "party_registered": 10, "party_rate": 50.0}


def test_coverage_export_has_numerator_denominator_and_rate(world, neighborhood, street, street_officer, console_for):
    client = console_for(street_officer)
    url = f"/console/dashboard/?region={street.id}&table=coverage"
    header, *rows = _csv_rows(client, url + "&format=csv")
    assert header[-3:] == ["亮身份党员", "在册党员", "党员亮身份率"]
    assert {r[0]: r[-3:] for r in rows} == {
        "宝林一村居委会": ["3", "8", "37.5%"],
        "宝林二村居委会": ["2", "2", "100.0%"],
        f"合计（{street.name}）": ["5", "10", "50.0%"],
    }
    sheet = load_workbook(io.BytesIO(client.get(url + "&format=xlsx").content)).active
    assert [c.value for c in sheet[4]][0] == f"合计（{street.name}）"
    assert [c.value for c in sheet[4]][-3:] == [5, 10, "50.0%"]
    trend_header, *trend = _csv_rows(client, f"/console/dashboard/?region={street.id}&table=coverage_trend&format=csv")
    assert trend_header[-2:] == ["亮身份党员", "党员亮身份率"]
    assert trend[-1][-2:] == ["5", "50.0%"]


def test_district_rolls_streets_up_from_sums(world, district, district_admin, console_for):
    page = console_for(district_admin).get(f"/console/dashboard/?region={district.id}").content.decode()
    assert 'data-kpi="party_rate" data-numerator="6" data-denominator="14">42.9%' in page
    chart = _chart(page)["coverage"]
    assert dict(zip(chart["names"], chart["party_rate"], strict=True)) == {"友谊路街道": 50.0, "吴淞街道": 25.0}
    assert dict(zip(chart["names"], chart["party_registered"], strict=True)) == {"友谊路街道": 10, "吴淞街道": 4}


def test_neighborhood_without_a_roll_shows_no_rate(neighborhood, committee_staff, console_for):
    _badges(neighborhood, 2)
    refresh_snapshots()
    page = console_for(committee_staff).get(f"/console/dashboard/?region={neighborhood.id}").content.decode()
    assert 'data-kpi="party_rate" data-numerator="2" data-denominator="0">—' in page
    assert _chart(page)["coverage"]["party_rate"] == [None]
