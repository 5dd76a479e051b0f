"""Counts and statuses follow along live: while 陈主任 watches the board and 刘科长 watches his
工作台, a resident files a request and another officer accepts and assigns it; the row's
status and every count change without a reload."""

import json
import urllib.request

from playwright.sync_api import expect

from services.models import ProviderOrganization
from tests import factories as f
from tests.console.browser.conftest import PHONE, login, screenshot
from tests.console.conftest import with_password
from tests.console.test_dispatch_board import make_item


def _post(base: str, path: str, token: str, body: dict) -> dict:
    # Over HTTP, not by calling the action here: this thread runs Playwright's event loop,
    # where channels' async_to_sync cannot publish.
    request = urllib.request.Request(
        base + path,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _count(page, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def test_board_and_home_counts_follow_status_changes(new_page, asgi_server):
    district = f.DistrictFactory(name="宝山区")
    street = f.StreetFactory(parent=district, name="友谊路街道")
    neighborhood = f.NeighborhoodFactory(parent=street, name="宝林一村居委会")
    resident = f.resident(neighborhood, nickname="张三")
    f.BeneficiaryFactory(owner=resident, neighborhood=neighborhood, name="王阿婆", birth_year=1938, is_default=True)
    with_password(f.staff(neighborhood, username="chenjuwei", nickname="陈主任"))
    officer = with_password(f.officer(street, username="liujiedao", nickname="刘科长"))
    provider = ProviderOrganization.objects.create(name="友谊路助老服务社", street=street)
    item = make_item()

    board = new_page()
    login(board, "chenjuwei")
    board.goto("/console/dispatch/")
    board.wait_for_selector("body[data-live=on]")
    home = new_page(PHONE)
    login(home, "liujiedao")
    home.wait_for_selector("body[data-live=on]")

    created = _post(asgi_server.url, "/api/v1/service-requests", f.token_for(resident), {"item": item.id})
    moves = f"/api/v1/service-requests/{created['id']}/transitions"
    officer_token = f.token_for(officer)
    row = board.locator(f'tr[data-request="{created["id"]}"]')
    row.wait_for()
    expect(board.locator('[data-count-status="submitted"]')).to_have_text("1")
    expect(home.locator('[data-card="service_new"] .count')).to_have_text("1")

    # Someone else (the street officer, from another screen) accepts: the board's row and counts follow.
    _post(asgi_server.url, moves, officer_token, {"to": "accepted"})
    row.locator('td[data-status="accepted"]').wait_for()
    expect(board.locator('[data-count-status="submitted"]')).to_have_text("0")
    assert _count(board, '[data-count-status="accepted"]') == "1"
    row.locator('input[name="ids"]').check()

    _post(asgi_server.url, moves, officer_token, {"to": "assigned", "assignee_org": provider.id})
    row.locator('td[data-status="assigned"]').wait_for()
    expect(board.locator('[data-count-status="in_service"]')).to_have_text("1")
    assert row.locator('input[name="ids"]').is_checked()  # a redraw keeps the officer's selection
    assert "友谊路助老服务社" in row.inner_text()
    screenshot(board, "dispatch-live-status")
    screenshot(home, "home-live-counts-phone")
