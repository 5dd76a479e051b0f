"""The district admin reads the console through the running system: 工作台 counts and the
数据看板 figures equal the rows behind them, and follow a new request.

钱主任 (qianqu) logs in through the console's form (session, CSRF); the same person's API
token gives the counts the mini-program shows; an operator's shell counts the rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest

from tests.journeys.people import ConsoleUser
from tests.journeys.system import wait_until

pytestmark = pytest.mark.slow

ROWS = (
    "import json, datetime as dt; from django.utils import timezone; "
    "from services.models import ServiceRequest; from residents.models import Membership; "
    "since = timezone.localdate() - dt.timedelta(days=89); "
    "asked = ServiceRequest.objects.filter(ServiceRequest.asked(), created_at__date__gte=since); "
    "print(json.dumps({'requests': asked.count(), "
    "'submitted': ServiceRequest.objects.filter(status='submitted').count(), "
    "'pending_memberships': Membership.objects.filter(status='pending').count()}))"
)


def rows(system) -> dict:
    return json.loads(system.shell(ROWS).strip().splitlines()[-1])


def services_table(console: ConsoleUser) -> list[dict]:
    response = console.http.get(f"{console.system.base}/console/dashboard/?table=services&format=csv", timeout=60)
    assert response.status_code == 200, (response.status_code, response.text[:500])
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def dashboard_requests(console: ConsoleUser) -> int:
    return sum(int(row["工单数"]) for row in services_table(console))


def dashboard_says(console: ConsoleUser, requests: int) -> Callable[[], bool]:
    def check() -> bool:
        shown = dashboard_requests(console)
        assert shown == requests, f"the dashboard says {shown} requests, the rows {requests}"
        return True

    return check


def test_the_district_dashboard_equals_the_rows_behind_it(system, people):
    admin, son = people("qianqu"), people("zhangsan")
    console = ConsoleUser(system, "qianqu")
    assert "数据看板" in console.page("/console/dashboard/")

    # 工作台: the same figures as the API gives the same person, and as the rows.
    cards = console.http.get(f"{system.base}/console/counts/", timeout=30).json()
    api_counts = admin.get("/api/v1/service-requests/counts")
    before = rows(system)
    assert cards["service_new"] == api_counts["by_status"]["submitted"] == before["submitted"], (cards, api_counts, before)
    assert cards["service_overdue"] == api_counts["overdue"], (cards, api_counts)
    assert cards["memberships"] == before["pending_memberships"], (cards, before)

    # 数据看板 (snapshots, refreshed by the scheduler's job on the worker): every request asked.
    wait_until(dashboard_says(console, before["requests"]), "the dashboard counts the requests the rows hold")

    # A new request: the counts follow at once, the dashboard after its next refresh.
    call = next(item for category in son.get("/api/v1/service-catalog")["categories"]
                for item in category["items"] if item["code"] == "safety-emergency-call")
    son.post("/api/v1/service-requests", {"item": call["id"], "extra": {}}, expect=201)
    after = rows(system)
    assert after["requests"] == before["requests"] + 1
    cards = console.http.get(f"{system.base}/console/counts/", timeout=30).json()
    assert cards["service_new"] == before["submitted"] + 1 == after["submitted"]
    wait_until(dashboard_says(console, after["requests"]), "the dashboard counts the new request after the scheduler's refresh")
    # The page the admin reads says what the export says, category by category.
    page = console.page("/console/dashboard/")
    for row in services_table(console):
        cell = f'<th scope="row">{row["服务大类"]}</th><td>{row["工单数"]}</td>'
        assert cell in page, (cell, row)
