"""诉求办理 and 诉求地图 in Chromium: an officer opens the board (the overdue matter first),
accepts a matter on its page, then sees the street's open matters drawn on the map — with
every request the page makes going to this site only."""

from __future__ import annotations

from cases.models import Case
from tests import factories as f
from tests.console.browser.conftest import PHONE, login, screenshot
from tests.console.browser.test_dispatch_live import _api
from tests.console.conftest import with_password
from tests.console.test_matters_board import make_overdue
from tests.matters import conftest as matters_world
from tests.matters.conftest import LAT, LNG

world = matters_world.world
standin = matters_world.standin


def test_board_detail_accept_and_map(world, new_page, asgi_server):
    with_password(world.officer)
    world.officer.username = "liujiedao"
    world.officer.save(update_fields=["username"])
    token = f.token_for(world.reporter)

    def report(n: int, **where) -> int:
        # Over HTTP, as a phone would: the commit's realtime broadcast must not run in this
        # thread, where Playwright's event loop is running.
        body = {"item": world.repair.id, "text": "路灯坏了", "place": f"{n}号楼", "insist": True, **where}
        return _api(asgi_server.url, "POST", "/api/v1/matters", token, body)["id"]

    calm, late = report(1, latitude=LAT, longitude=LNG), report(2, latitude=LAT, longitude=LNG)
    make_overdue(late)
    report(3)  # no location: no point on the map

    page = new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    login(page, "liujiedao")
    page.get_by_role("link", name="诉求办理").click()
    rows = page.locator("#matter-rows tr[data-matter]")
    assert rows.count() == 3
    assert rows.first.get_attribute("data-matter") == str(late)
    assert "is-overdue" in rows.first.get_attribute("class")

    page.get_by_role("link", name=f"#{calm}").click()
    page.get_by_role("button", name="受理").click()
    page.get_by_text(f"诉求 #{calm} 已受理").wait_for()
    assert page.locator("h1 .status").inner_text() == "办理中"
    assert Case.objects.get(matter__id=calm).status == Case.Status.ACCEPTED

    page.set_viewport_size(PHONE)
    page.goto(f"/console/matters/map/?region={world.street.id}")
    page.wait_for_selector("#matters-map[data-rendered=true]")
    assert page.locator("#matters-map").get_attribute("data-points") == "2"
    assert "其中已超时 1 件" in page.locator("#map-summary").inner_text()
    screenshot(page, "matters-map-phone")
    assert requested and all(u.startswith(asgi_server.url) for u in requested), [
        u for u in requested if not u.startswith(asgi_server.url)
    ]
