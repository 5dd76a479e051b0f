"""Issue 15 item 9: the board's caption said 共 5 件 over 6 rows once a request arrived live.
An officer watches a board of two requests; a resident taps a service; the third row appears
and the caption says 3, the rows on the page."""

from services.models import ServiceRequest
from tests import factories as f
from tests.console.browser.conftest import login
from tests.console.browser.test_dispatch_live import _api
from tests.console.conftest import with_password
from tests.console.test_dispatch_board import make_item, make_request


def _shown(page) -> tuple[int, int]:
    caption = int(page.locator("#dispatch-row-count").inner_text())
    return caption, page.locator("#dispatch-rows tr[data-request]").count()


def test_caption_follows_the_rows_as_a_request_arrives_live(new_page, asgi_server):
    district = f.DistrictFactory(name="宝山区")
    street = f.StreetFactory(parent=district, name="友谊路街道")
    neighborhood = f.NeighborhoodFactory(parent=street, name="宝林一村居委会")
    resident = f.resident(neighborhood, nickname="张三")
    f.BeneficiaryFactory(owner=resident, neighborhood=neighborhood, name="王阿婆", birth_year=1938, is_default=True)
    with_password(f.officer(street, username="liujiedao", nickname="刘科长"))
    item = make_item()
    for _ in range(2):
        make_request(neighborhood, item, requester=resident)

    page = new_page()
    login(page, "liujiedao")
    page.goto("/console/dispatch/")
    page.wait_for_selector("body[data-live=on]")
    assert _shown(page) == (2, 2)

    created = _api(asgi_server.url, "POST", "/api/v1/service-requests", f.token_for(resident), {"item": item.id})
    page.locator(f'tr[data-request="{created["id"]}"]').wait_for()
    page.wait_for_function("document.getElementById('dispatch-row-count').textContent.trim() === '3'")
    assert _shown(page) == (3, 3)
    assert ServiceRequest.objects.count() == 3
