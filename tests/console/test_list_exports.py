"""Record-level exports (console/exports.py) and sortable, resizable lists (console/listing.py):
an export holds every row the screen would page through, scoped and sorted as the screen,
with typed cells and a frozen Chinese header, and is audited; a sort key outside the
whitelist changes nothing; the id tie-break keeps paging exact."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from residents.models import Membership
from tests import factories as f
from tests.console.test_dispatch_board import make_item, make_request
from tests.console.test_matters_board import client_for, report, shown
from tests.core.test_structured_logs import json_lines  # noqa: F401  (fixture)
from tests.matters import conftest as matters_world

world = matters_world.world
standin = matters_world.standin


@pytest.fixture
def item(db):
    return make_item()


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def _board_ids(client, url: str) -> list[int]:
    """The ids the screen shows, page after page."""
    ids, page = [], 1
    while True:
        response = client.get(f"{url}&page={page}")
        ids += [row["r"].id for row in response.context["rows"]]
        if not response.context["page"].has_next():
            return ids
        page += 1


def test_dispatch_export_is_every_row_of_the_screen_typed_frozen_and_audited(
    neighborhood,
    other_neighborhood,
    item,
    street_officer,
    console_for,
    json_lines,  # noqa: F811
):
    mine = [make_request(neighborhood, item, due_in=timedelta(hours=i - 3)) for i in range(25)]
    make_request(other_neighborhood, item)  # another street: not on this officer's board
    make_request(neighborhood, item, status="completed")  # not open: filtered out by default
    client = console_for(street_officer)
    on_screen = _board_ids(client, "/console/dispatch/?per_page=20")
    assert sorted(on_screen) == sorted(r.id for r in mine)

    response = client.get("/console/dispatch/?per_page=20&format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("工单号", "服务大类", "服务项目")
    assert sheet.freeze_panes == "A2"
    assert [row[0] for row in rows[1:]] == on_screen  # same rows, same order, not one page
    assert all(isinstance(row[0], int) for row in rows[1:])
    created = rows[0].index("提交时间")
    assert all(isinstance(row[created], datetime) for row in rows[1:])
    overdue = rows[0].index("已超时")
    assert {row[overdue] for row in rows[1:]} == {"是", "否"}

    audit = [line for line in json_lines() if line["logger"] == "stq.audit"]
    assert len(audit) == 1
    assert audit[0]["user_id"] == street_officer.pk
    assert audit[0]["export"] == "dispatch" and audit[0]["format"] == "xlsx" and audit[0]["rows"] == 25


def test_dispatch_csv_follows_the_filter_and_the_sort(neighborhood, item, street_officer, console_for):
    submitted = [make_request(neighborhood, item) for _ in range(3)]
    make_request(neighborhood, item, status="accepted")
    response = console_for(street_officer).get("/console/dispatch/?status=submitted&sort=-id&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(response)
    assert rows[0][0] == "工单号"
    assert [int(r[0]) for r in rows[1:]] == sorted((r.id for r in submitted), reverse=True)
    assert rows[1][rows[0].index("提交时间")].count(":") == 1  # YYYY-MM-DD HH:MM, local time


@pytest.mark.parametrize("sort", ["created_at; DROP TABLE services_servicerequest", "requester__phone", "-", "?"])
def test_a_sort_key_outside_the_whitelist_is_the_default_order(neighborhood, item, street_officer, console_for, sort):
    late = make_request(neighborhood, item, due_in=timedelta(hours=-1))
    fresh = make_request(neighborhood, item)
    response = console_for(street_officer).get("/console/dispatch/", {"sort": sort, "per_page": "7"})
    assert response.status_code == 200
    assert [row["r"].id for row in response.context["rows"]] == [late.id, fresh.id]
    assert response.context["page"].paginator.per_page == 50  # 7 is not offered either


def test_sorting_on_a_column_with_ties_pages_every_row_once(neighborhood, item, street_officer, console_for):
    made = [make_request(neighborhood, item, status=("submitted", "accepted")[i % 2]) for i in range(45)]
    client = console_for(street_officer)
    for sort in ("status", "-status", "neighborhood", "-due"):
        ids = _board_ids(client, f"/console/dispatch/?sort={sort}&per_page=20")
        assert len(ids) == len(set(ids)) == 45, sort
    ascending = _board_ids(client, "/console/dispatch/?sort=status&per_page=20")
    statuses = {r.id: r.status for r in made}
    assert [statuses[i] for i in ascending] == sorted(statuses[i] for i in ascending)
    accepted = [i for i in ascending if statuses[i] == "accepted"]
    assert accepted == sorted(accepted)  # ties broken by id, in the sort's direction
    page = client.get("/console/dispatch/?sort=-status").content.decode()
    assert 'aria-sort="descending"' in page and "sort=status" in page  # the link flips the order


def test_matters_export_is_scoped_like_the_board(world):
    mine = [report(world, n=i) for i in range(3)]
    client = client_for(world.officer)
    rows = _csv(client.get("/console/matters/?sort=id&format=csv"))
    assert rows[0][:3] == ["诉求号", "分类", "事项"]
    assert [int(r[0]) for r in rows[1:]] == sorted(mine) == sorted(shown(client.get("/console/matters/")))
    other = _csv(client_for(world.other_officer).get("/console/matters/?format=csv"))
    assert other == [rows[0]]  # the header alone: nothing of another street
    sheet = load_workbook(io.BytesIO(client.get("/console/matters/?format=xlsx").content)).active
    assert sheet.freeze_panes == "A2"
    assert isinstance(sheet.cell(row=2, column=1).value, int)


def test_membership_queue_export_and_page_size(neighborhood, other_neighborhood, committee_staff, console_for):
    def pending(where):
        return f.MembershipFactory(
            neighborhood=where, status=Membership.Status.PENDING, is_current=False, decided_at=None
        )

    mine = [pending(neighborhood) for _ in range(22)]
    pending(other_neighborhood)
    client = console_for(committee_staff)
    first = client.get("/console/memberships/?per_page=20")
    assert len(first.context["rows"]) == 20
    assert 'href="?per_page=20&amp;page=2"' in first.content.decode()  # the size survives paging
    rows = _csv(client.get("/console/memberships/?per_page=20&format=csv"))
    assert rows[0][:3] == ["申请号", "申请人", "居委/村"]
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(m.id for m in mine)
