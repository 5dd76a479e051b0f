"""Every console page at a desktop (1440 px) and a phone (390 px) width: no horizontal
overflow of the document (`scrollWidth <= innerWidth`; a wide table scrolls inside its own
`.table-wrap`), the main content visible, and a screenshot kept in test-artifacts/.

The pages are read from console/urls.py: a URL name must be in PAGES (how to open it, as
whom) or in NOT_PAGES (JSON, fragments, POST-only actions), so a new console screen
fails `test_every_console_url_is_listed` until it is listed here, and then gets its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import factories as f
from tests.console.browser.conftest import PHONE, login, screenshot
from tests.console.browser.test_dispatch_live import _api

WIDE = {"width": 1440, "height": 900}
WIDTHS = {"1440": WIDE, "390": PHONE}


@dataclass(frozen=True)
class Page:
    persona: str | None  # a demo console username; None: anonymous
    url: Callable[[], str]


def _first_id(model_path: str) -> int:
    from django.apps import apps

    model = apps.get_model(model_path)
    return model.objects.order_by("id").values_list("id", flat=True).first()


def _named(name: str, **kwargs) -> Callable[[], str]:
    return lambda: reverse(f"console:{name}", kwargs=kwargs or None)


def _a_shed_device() -> int:
    """The first device, or a smoke sensor in a shed of 陈主任's neighborhood when the demo has none."""
    from residents.demo import BAOLIN1
    from residents.models import Region
    from sensors.models import Device, Place

    device = Device.objects.order_by("id").first()
    if device is None:
        region = Region.objects.get(code=BAOLIN1)
        shed = Place.objects.create(name="3号非机动车棚", kind=Place.Kind.SHED, region=region)
        device = Device.objects.create(kind=Device.Kind.SMOKE, vendor="demo", vendor_device_id="SMK-DEMO-1", region=region, place=shed)
    return device.pk


PAGES: dict[str, Page] = {
    "login": Page(None, _named("login")),
    "home": Page("chenjuwei", _named("home")),
    "memberships": Page("chenjuwei", _named("memberships")),
    "party_identity": Page("chenjuwei", _named("party_identity")),
    "dashboard": Page("liujiedao", _named("dashboard")),
    "dispatch": Page("chenjuwei", _named("dispatch")),
    "cases": Page("liujiedao", _named("cases")),
    "dispatch_detail": Page(
        "qianqu", lambda: reverse("console:dispatch_detail", args=[_first_id("services.ServiceRequest")])
    ),
    "moderation": Page("chenjuwei", _named("moderation")),
    "moderation_log": Page("chenjuwei", _named("moderation_log")),
    "unanswered": Page("chenjuwei", _named("unanswered")),
    "announce": Page("liujiedao", _named("announce")),
    "topics": Page("chenjuwei", _named("topics")),
    "topic_detail": Page("qianqu", lambda: reverse("console:topic_detail", args=[_first_id("deliberation.Topic")])),
    "roles": Page("liujiedao", _named("roles")),
    "mutes": Page("chenjuwei", _named("mutes")),
    "plans": Page("chenjuwei", _named("plans")),
    "access_log": Page("qianqu", _named("access_log")),
    "matters": Page("chenjuwei", _named("matters")),
    "matter_review": Page("chenjuwei", _named("matter_review")),
    "matters_map": Page("liujiedao", _named("matters_map")),
    "matter_detail": Page("qianqu", lambda: reverse("console:matter_detail", args=[_first_id("matters.Matter")])),
    "sensors": Page("chenjuwei", _named("sensors")),
    "sensor_device": Page("chenjuwei", lambda: reverse("console:sensor_device", args=[_a_shed_device()])),
    "sensor_alerts": Page("chenjuwei", _named("sensor_alerts")),
    "sensor_import": Page("chenjuwei", _named("sensor_import")),
}

# Not pages a person reads: JSON, HTML fragments the live board fetches, POST-only actions.
NOT_PAGES = {
    "logout",
    "home_counts",
    "realtime-token",
    "membership_decide",
    "party_identity_decide",
    "dispatch_bulk_assign",
    "dispatch_counts",
    "dispatch_row",
    "cases_counts",
    "case_row",
    "case_row_for_request",
    "dispatch_transition",
    "moderate_post",
    "moderate_comment",
    "official_reply",
    "topic_transition",
    "topic_milestone",
    "topic_milestone_edit",
    "role_grant",
    "role_revoke",
    "mute",
    "unmute",
    "plan_action",
    "matters_map_data",
    "matter_act",
    "matter_review_decide",
    "sensor_alert_close",
}


def _console_url_names() -> set[str]:
    resolver = get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "console":
            return {p.name for p in entry.url_patterns if isinstance(p, URLPattern) and p.name}
    raise AssertionError("console/urls.py is not included under the console namespace")


def test_every_console_url_is_listed():
    names = _console_url_names()
    unlisted = names - PAGES.keys() - NOT_PAGES
    assert not unlisted, f"console URL names with no browser test: list them in PAGES or NOT_PAGES: {sorted(unlisted)}"
    gone = (PAGES.keys() | NOT_PAGES) - names
    assert not gone, f"listed but no longer in console/urls.py: {sorted(gone)}"


@pytest.fixture
def demo(asgi_server, wechat_standin):
    # transactional_db flushed the service catalog the migrations seed: seed it again first.
    from django.apps import apps

    for module, function in (("0002_seed_catalog", "seed"), ("0006_one_tap_defaults", "add_defaults")):
        getattr(import_module(f"services.migrations.{module}"), function)(apps, None)
    with open("/dev/null", "w") as quiet:
        call_command("load_demo", stdout=quiet)
    # The demo has no matters: 张三 reports one from his phone, over HTTP as the mini-program does.
    from matters.models import MatterItem
    from residents.models import User

    body = {"item": MatterItem.objects.order_by("id").first().id, "text": "楼道路灯坏了，晚上看不见", "place": "3号楼"}
    token = f.token_for(User.objects.get(openid="zhangsan"))
    _api(asgi_server.url, "POST", "/api/v1/matters", token, {**body, "insist": True})


OVERFLOW = """() => {
  const doc = document.scrollingElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > innerWidth + 1 && !el.closest('.table-wrap'))
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className);
  return {scroll: doc.scrollWidth, inner: innerWidth, wide};
}"""


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_fits_desktop_and_phone(name, demo, new_page):
    spec = PAGES[name]
    page = new_page(WIDE)
    if spec.persona:
        login(page, spec.persona)
    url = spec.url()
    for label, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        response = page.goto(url, wait_until="load")
        assert response.status == 200, (name, label, response.status)
        main = page.locator("main")
        assert main.is_visible(), (name, label)
        assert main.locator("h1").first.is_visible(), (name, label)
        box = main.bounding_box()
        assert box["width"] > 0 and box["height"] > 0, (name, label, box)
        measured = page.evaluate(OVERFLOW)
        screenshot(page, f"page-{name}-{label}")
        assert measured["scroll"] <= measured["inner"], (name, label, measured)


def test_not_found_and_forbidden_are_console_pages_at_both_widths(demo, new_page):
    page = new_page(WIDE)
    login(page, "zhoubanzhu")  # a moderator: 派单台 is not theirs
    for label, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        for path, status, title in (
            ("/console/no-such-screen/", 404, "页面不存在"),
            ("/console/dispatch/", 403, "没有权限"),
        ):
            response = page.goto(path)
            assert response.status == status, (path, label)
            assert page.locator("main h1").inner_text().startswith(title)
            assert page.get_by_role("navigation", name="主导航").get_by_role("link", name="内容审核").is_visible()
            measured = page.evaluate(OVERFLOW)
            screenshot(page, f"error-{status}-{label}")
            assert measured["scroll"] <= measured["inner"], (path, label, measured)
