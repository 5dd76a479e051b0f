"""案件总台 in Chromium, live: two officers of two streets have the board open; a resident
reports a matter and another taps a service from their phones (the API, another client); both
rows appear on the first officer's board without a reload — the matter through the `case.created`
frame, the request through the services app's frame — a unit's move redraws the row, and the
other street's board receives nothing, live or on reload."""

from __future__ import annotations

from tests import factories as f
from tests.console.browser.conftest import PHONE, login, screenshot
from tests.console.browser.test_dispatch_live import _api
from tests.console.conftest import with_password
from tests.console.test_dispatch_board import make_item
from tests.matters import conftest as matters_world

world = matters_world.world
standin = matters_world.standin


def _named(user, username: str):
    with_password(user)
    user.username = username
    user.save(update_fields=["username"])
    return user


def test_new_cases_of_both_kinds_appear_live_and_not_on_another_streets_board(world, new_page, asgi_server):
    _named(world.officer, "liujiedao")
    _named(world.other_officer, "sunjiedao")
    f.BeneficiaryFactory(owner=world.neighbor, neighborhood=world.neighborhood, name="王阿婆", birth_year=1938,
                         is_default=True)
    item = make_item()

    page = new_page()
    login(page, "liujiedao")
    page.get_by_role("link", name="案件总台").click()
    page.wait_for_selector("body[data-live=on]")
    assert page.locator("#dispatch-rows tr[data-case]").count() == 0

    other = new_page(PHONE)
    login(other, "sunjiedao")
    other.goto("/console/cases/")
    other.wait_for_selector("body[data-live=on]")

    body = {"item": world.repair.id, "text": "路灯坏了", "place": "3号楼", "insist": True}
    matter = _api(asgi_server.url, "POST", "/api/v1/matters", f.token_for(world.reporter), body)
    row = page.locator(f'#dispatch-rows tr[data-ref="matter:{matter["id"]}"]')
    row.wait_for()
    assert "设施报修 / 路灯不亮" in row.inner_text() and "待受理" in row.inner_text()
    page.locator('[data-count-status="submitted"][data-count="1"]').wait_for()

    request = _api(asgi_server.url, "POST", "/api/v1/service-requests", f.token_for(world.neighbor), {"item": item.id})
    page.locator(f'#dispatch-rows tr[data-ref="service_request:{request["id"]}"]').wait_for()
    assert page.locator("#dispatch-rows tr[data-case]").count() == 2
    assert page.locator("#dispatch-row-count").inner_text() == "2"
    screenshot(page, "case-board-live-desktop")

    # The 物业 accepts the matter from its phone: the officer's row redraws (the case.accepted frame).
    _api(asgi_server.url, "POST", f"/api/v1/matters/{matter['id']}/accept", f.token_for(world.property_worker), {})
    page.locator(f'tr[data-ref="matter:{matter["id"]}"] td[data-status="accepted"]').wait_for()

    # The row opens the matter's own page.
    page.locator(f'tr[data-ref="matter:{matter["id"]}"]').get_by_role("link", name=f"#{matter['id']}").click()
    page.wait_for_url(f"**/console/matters/{matter['id']}/")

    # The other street's officer got nothing, live or on reload, and cannot fetch the rows.
    assert other.locator("#dispatch-rows tr[data-case]").count() == 0
    assert other.locator('[data-count-status="submitted"]').inner_text() == "0"
    other.reload()
    assert other.locator("#dispatch-rows tr[data-case]").count() == 0
    screenshot(other, "case-board-other-street-phone")
    assert other.goto(f"/console/cases/service-request/{request['id']}/row/").status == 404
