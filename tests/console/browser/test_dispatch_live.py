"""An officer watches the board; a resident taps a service in the mini-program; the row
appears without a reload; the officer accepts and assigns it; the resident's timeline (API)
shows both moves."""

import json
import urllib.request

from services.models import ProviderOrganization
from tests import factories as f
from tests.console.browser.conftest import PHONE, login, screenshot
from tests.console.conftest import with_password
from tests.console.test_dispatch_board import make_item


def _api(base: str, method: str, path: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_new_request_appears_live_and_the_residents_timeline_shows_the_dispatch(new_page, asgi_server):
    district = f.DistrictFactory(name="宝山区")
    street = f.StreetFactory(parent=district, name="友谊路街道")
    other_street = f.StreetFactory(parent=district, name="吴淞街道")
    neighborhood = f.NeighborhoodFactory(parent=street, name="宝林一村居委会")
    resident = f.resident(neighborhood, nickname="张三")
    f.BeneficiaryFactory(owner=resident, neighborhood=neighborhood, name="王阿婆", birth_year=1938, is_default=True)
    with_password(f.officer(street, username="liujiedao", nickname="刘科长"))
    with_password(f.officer(other_street, username="sunjiedao", nickname="孙科长"))
    provider = ProviderOrganization.objects.create(name="友谊路助老服务社", street=street)
    item = make_item()

    page = new_page()
    login(page, "liujiedao")
    screenshot(page, "home-desktop")
    page.get_by_role("link", name="派单台").click()
    page.wait_for_selector("body[data-live=on]")

    other = new_page(PHONE)
    login(other, "sunjiedao")
    other.goto("/console/dispatch/")
    other.wait_for_selector("body[data-live=on]")

    resident_token = f.token_for(resident)
    created = _api(asgi_server.url, "POST", "/api/v1/service-requests", resident_token, {"item": item.id})
    row = page.locator(f'tr[data-request="{created["id"]}"]')
    row.wait_for()
    assert "王阿婆" in row.inner_text()
    screenshot(page, "dispatch-live-desktop")

    page.get_by_role("link", name=f"#{created['id']}").click()
    page.get_by_role("button", name="受理").click()
    page.get_by_label("服务机构").select_option(str(provider.id))
    page.get_by_role("button", name="派单").click()
    page.locator('li[data-event="assigned"]').wait_for()
    screenshot(page, "dispatch-detail-desktop")

    events = _api(asgi_server.url, "GET", f"/api/v1/service-requests/{created['id']}/events", resident_token)
    assert [e["to_status"] for e in events["results"]] == ["submitted", "accepted", "assigned"]

    # The other street's officer saw none of it, live or on reload.
    assert other.locator(f'tr[data-request="{created["id"]}"]').count() == 0
    other.reload()
    assert other.locator(f'tr[data-request="{created["id"]}"]').count() == 0
    screenshot(other, "dispatch-other-street-phone")
    assert other.goto(f"/console/dispatch/{created['id']}/").status == 404
