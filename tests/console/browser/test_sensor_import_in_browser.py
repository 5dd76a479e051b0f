"""Staff import a vendor's device list from the console (issue 18): a file with bad rows imports
nothing and lists each row's error in Chinese; the corrected file imports and lands on 物联设备."""

from sensors.models import Device
from tests import factories as f
from tests.console.browser.conftest import login, screenshot
from tests.console.conftest import with_password

HEADER = "vendor,device_id,kind,region_code,place,place_kind,beneficiary_id\n"


def _upload(page, name: str, text: str) -> None:
    page.get_by_label("设备清单（CSV）").set_input_files({"name": name, "mimeType": "text/csv", "buffer": text.encode()})
    page.get_by_role("button", name="导入").click()


def test_staff_upload_a_device_list_and_see_each_bad_row(new_page, asgi_server):
    street = f.StreetFactory(name="友谊路街道")
    neighborhood = f.NeighborhoodFactory(parent=street, name="宝林一村居委会")
    with_password(f.staff(neighborhood, username="chenjuwei", nickname="陈主任"))

    page = new_page()
    login(page, "chenjuwei")
    page.goto("/console/sensors/")
    page.get_by_role("link", name="导入设备（CSV）").click()
    page.wait_for_url("**/console/sensors/import/")

    _upload(page, "bad.csv", HEADER + f"acme,SMK-1,烟感,{neighborhood.code},3号非机动车棚,非机动车棚,\n"
            + f"acme,SMK-2,雷达,{neighborhood.code},3号非机动车棚,,\n" + f"acme,SMK-3,烟感,{neighborhood.code},,,\n")
    page.locator("#import-errors").wait_for()
    assert "未导入任何设备" in page.locator("#import-summary").inner_text()
    rows = page.locator("#import-errors tbody tr")
    assert rows.count() == 2
    assert "未知设备类型「雷达」" in rows.nth(0).inner_text() and rows.nth(0).locator("th").inner_text() == "3"
    assert "场所（place）与老人（beneficiary_id）须填且只填一项" in rows.nth(1).inner_text()
    screenshot(page, "sensor-import-errors")
    assert not Device.objects.exists()

    _upload(page, "good.csv", HEADER + f"acme,SMK-1,烟感,{neighborhood.code},3号非机动车棚,非机动车棚,\n")
    page.wait_for_url("**/console/sensors/")
    page.get_by_text("已导入 1 台设备").wait_for()
    assert Device.objects.get().vendor_device_id == "SMK-1"
