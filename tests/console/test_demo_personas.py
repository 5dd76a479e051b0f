"""Every console page answers for every staff persona of the demo district (DEMO.md)."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

PAGES = [
    "home",
    "dispatch",
    "memberships",
    "party_identity",
    "moderation",
    "moderation_log",
    "unanswered",
    "announce",
    "topics",
    "dashboard",
]


@pytest.fixture
def demo(db, wechat_standin):
    call_command("load_demo", stdout=open("/dev/null", "w"))


@pytest.mark.parametrize("username", ["chenjuwei", "liujiedao", "sunjiedao", "qianqu"])
def test_staff_persona_logs_in_and_every_page_renders(demo, username):
    client = Client()
    response = client.post("/console/login/", {"username": username, "password": "demo12345"})
    assert response.status_code == 302, response.content.decode()[:500]
    for name in PAGES:
        url = reverse(f"console:{name}")
        page = client.get(url)
        assert page.status_code == 200, (username, url, page.status_code)
    for fmt in ("csv", "xlsx"):
        assert client.get(f"/console/dashboard/?table=coverage&format={fmt}").status_code == 200


def test_resident_persona_is_refused(demo):
    client = Client()
    client.post("/console/login/", {"username": "zhangsan", "password": "demo12345"})
    assert client.get("/console/").status_code == 302
