"""诉求内容审核 in Chromium: committee staff open the queue from the nav, refuse one held text
with a reason and pass another; the page shows the decisions in its log."""

from __future__ import annotations

from console.models import MatterTextReview
from matters.models import Matter
from tests import factories as f
from tests.console.browser.conftest import login, screenshot
from tests.console.browser.test_dispatch_live import _api
from tests.console.conftest import with_password
from tests.matters import conftest as matters_world

world = matters_world.world
standin = matters_world.standin


def test_staff_pass_and_refuse_held_matter_text(world, new_page, asgi_server):
    with_password(world.staff)
    world.staff.username = "chenjuwei"
    world.staff.save(update_fields=["username"])
    token = f.token_for(world.reporter)

    def held(n: int) -> int:
        body = {"item": world.repair.id, "text": f"{n}号楼的事要去上访", "place": f"{n}号楼", "insist": True}
        matter = _api(asgi_server.url, "POST", "/api/v1/matters", token, body)
        assert matter["text_status"] == "pending_review"
        return matter["id"]

    first, second = held(1), held(2)
    page = new_page()
    login(page, "chenjuwei")
    page.get_by_role("link", name="诉求审核").click()
    rows = page.locator("tr[data-matter]")
    assert [rows.nth(i).get_attribute("data-matter") for i in range(rows.count())] == [str(first), str(second)]

    row = page.locator(f'tr[data-matter="{first}"]')
    row.get_by_label("不予公开的原因").fill("与诉求无关")
    row.get_by_role("button", name="不予公开").click()
    page.get_by_text(f"诉求 #{first} 的内容已不予公开").wait_for()
    page.locator(f'tr[data-matter="{second}"]').get_by_role("button", name="审核通过").click()
    page.get_by_text(f"诉求 #{second} 的内容已审核通过").wait_for()

    assert page.locator("tr[data-matter]").count() == 0
    log = page.locator("#matter-review-log tbody tr")
    assert [log.nth(i).get_attribute("data-log") for i in range(2)] == ["approved", "rejected"]
    assert "与诉求无关" in log.nth(1).inner_text()
    screenshot(page, "matter-review")
    assert dict(Matter.objects.filter(pk__in=[first, second]).values_list("pk", "text_status")) == {
        first: "removed", second: "published"}
    assert MatterTextReview.objects.count() == 2
