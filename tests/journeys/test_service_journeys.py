"""Elder services through the running system (make run's processes, HTTP and WebSocket only).

张三 asks for a meal for his mother with one tap; 陈主任 accepts and dispatches it on the
console; 吴师傅 starts and completes it with a photo; 张三 rates it — with a push and a socket
frame at each step. A request nobody accepts in time is escalated by the scheduler and the
worker, and 刘科长 (street officer) sees it on his socket and his phone and takes it on.
"""

from __future__ import annotations

import uuid

import pytest

from tests.journeys.people import ANY_TIME, ConsoleUser, assert_push, jpeg
from tests.journeys.system import wait_until

pytestmark = pytest.mark.slow

STATUS = "demo-tpl-service-status"


def catalog_item(person, code: str) -> dict:
    catalog = person.get("/api/v1/service-catalog")
    return next(item for category in catalog["categories"] for item in category["items"] if item["code"] == code)


def region_of(person, kind: str) -> dict:
    return next(role["region"] for role in person.get("/api/v1/me")["roles"] if role["kind"] == kind)


def detail_page(request_id: int) -> str:
    return f"pages/services/detail?id={request_id}"


def console_move(console: ConsoleUser, request_id: int, **form: str) -> None:
    answer = console.form_post(f"/console/dispatch/{request_id}/transition/", form, page=f"/console/dispatch/{request_id}/")
    assert answer.status_code == 302, (answer.status_code, answer.text[:500])


def test_a_son_asks_for_his_mother_from_one_tap_to_rating(system, people):
    son, staff, provider = people("zhangsan"), people("chenjuwei"), people("wuzhuli")
    hood = son.get("/api/v1/me")["current_neighborhood"]
    meal = catalog_item(son, "meal-delivery")
    son_socket = son.socket(f"user.{son.id}")
    board_socket = staff.socket(f"staff.neighborhood.{hood['id']}")
    provider_socket = provider.socket(f"user.{provider.id}")

    # One tap: the item alone. The elder is his registered mother; every answer comes by default.
    request = son.post("/api/v1/service-requests", {"item": meal["id"]}, headers={"Idempotency-Key": uuid.uuid4().hex},
                       expect=201)
    rid = request["id"]
    assert request["status"] == "submitted"
    assert request["beneficiary_name"] == "王阿婆"

    # The committee's board and phone.
    board_socket.event(f"staff.neighborhood.{hood['id']}", "service_request.created", "the new request on the board", id=rid)
    push = system.wait_for_message("chenjuwei", "demo-tpl-service-new", detail_page(rid), "new request")
    assert_push(push, {"thing1": meal["name"], "thing2": hood["name"], "time3": ANY_TIME})

    # 陈主任 accepts and dispatches it to 吴师傅 on the console (派单台).
    console = ConsoleUser(system, "chenjuwei")
    assert f"/console/dispatch/{rid}/" in console.page("/console/dispatch/")
    console_move(console, rid, to="accepted", from_status="submitted", note="明天中午送到")
    son_socket.event(f"user.{son.id}", "service_request.status_changed", "accepted reaches the son", id=rid, status="accepted")
    push = system.wait_for_message("zhangsan", STATUS, detail_page(rid), "accepted", phrase2="已受理")
    assert_push(push, {"thing1": meal["name"], "phrase2": "已受理", "thing3": "明天中午送到", "time4": ANY_TIME})

    console_move(console, rid, to="assigned", from_status="accepted", assignee_user=str(provider.id))
    provider_socket.event(f"user.{provider.id}", "notification.created", "the provider is told",
                          kind="service_request_assigned")
    push = system.wait_for_message("wuzhuli", "demo-tpl-service-assigned", detail_page(rid), "assigned")
    assert_push(push, {"thing1": meal["name"], "thing2": hood["name"], "time3": ANY_TIME})
    push = system.wait_for_message("zhangsan", STATUS, detail_page(rid), "assigned", phrase2="已派单")
    assert_push(push, {"thing1": meal["name"], "phrase2": "已派单", "time4": ANY_TIME})

    # 吴师傅 starts, then completes with a photo taken at the door.
    assert rid in [r["id"] for r in provider.get("/api/v1/service-requests?scope=assigned")["results"]]
    provider.post(f"/api/v1/service-requests/{rid}/transitions", {"to": "in_service", "from_status": "assigned"})
    son_socket.event(f"user.{son.id}", "service_request.status_changed", "in service", id=rid, status="in_service")
    photo = provider.post("/api/v1/images", files={"file": ("meal.jpg", jpeg((90, 160, 60)), "image/jpeg")})
    provider.post(f"/api/v1/service-requests/{rid}/transitions",
                  {"to": "completed", "from_status": "in_service", "note": "已送达，老人已用餐", "photos": [photo["id"]]})
    son_socket.event(f"user.{son.id}", "service_request.status_changed", "completed", id=rid, status="completed")
    board_socket.event(f"staff.neighborhood.{hood['id']}", "service_request.updated", "the board follows", id=rid)
    push = system.wait_for_message("zhangsan", STATUS, detail_page(rid), "completed", phrase2="已完成")
    assert_push(push, {"thing1": meal["name"], "phrase2": "已完成", "time4": ANY_TIME})

    # 张三 rates it.
    son.post(f"/api/v1/service-requests/{rid}/rating", {"score": 5, "comment": "饭菜很热乎，谢谢吴师傅"})
    son_socket.event(f"user.{son.id}", "service_request.status_changed", "rated", id=rid, status="rated")
    detail = son.get(f"/api/v1/service-requests/{rid}")
    assert detail["status"] == "rated"
    timeline = [event["to_status"] for event in son.get(f"/api/v1/service-requests/{rid}/events")["results"]]
    assert {"submitted", "accepted", "assigned", "in_service", "completed", "rated"} <= set(timeline), timeline
    for socket in (son_socket, board_socket, provider_socket):
        socket.close()

    # The completion photo, once WeChat's media check passed it: every URL opens.
    def photos_shown() -> list[dict]:
        return [p for p in son.get(f"/api/v1/service-requests/{rid}")["completion_photos"] if p["status"] == "passed"]

    photos = wait_until(photos_shown, "the completion photo is shown to the son after the media check")
    for picture in photos:
        for url in (picture["url"], picture["thumbnail_url"]):
            fetched = son.fetch(url)
            assert fetched.status_code == 200, (url, fetched.status_code)
            assert fetched.headers["Content-Type"].startswith("image/"), (url, fetched.headers)


def test_an_overdue_request_is_escalated_to_the_street_officer(system, people):
    son, officer = people("zhangsan"), people("liujiedao")
    street = region_of(officer, "street_officer")
    hood = son.get("/api/v1/me")["current_neighborhood"]
    officer_socket = officer.socket(f"staff.street.{street['id']}")
    call = catalog_item(son, "safety-emergency-call")
    request = son.post("/api/v1/service-requests", {"item": call["id"], "extra": {}}, expect=201)
    rid = request["id"]
    officer_socket.event(f"staff.street.{street['id']}", "service_request.created", "the street sees the new request",
                         id=rid)

    # Nobody accepts it in time: its deadline is moved into the past (the server's clock is
    # real) by an operator's shell, and the scheduler's sweep, run by the worker, escalates it.
    system.shell(
        "import datetime as dt; from django.utils import timezone; from services.models import ServiceRequest; "
        f"ServiceRequest.objects.filter(pk={rid}).update(accept_due_at=timezone.now() - dt.timedelta(minutes=1)); "
        # The sweep is the case engine's and reads the request's case: the shell moves it too.
        f"from services.actions.case_mirror import resync_case; resync_case({rid})"
    )
    push = system.wait_for_message("liujiedao", "demo-tpl-service-overdue", detail_page(rid), "escalation")
    assert_push(push, {"thing1": call["name"], "thing2": hood["name"], "phrase3": "受理超时", "time4": ANY_TIME})
    detail = officer.get(f"/api/v1/service-requests/{rid}")
    assert detail["status"] == "submitted" and detail["escalated_at"] and detail["is_overdue"]
    events = officer.get(f"/api/v1/service-requests/{rid}/events")["results"]
    assert any(e.get("kind") == "escalated" or "上报街道" in (e.get("note") or "") for e in events), events
    assert rid in [r["id"] for r in officer.get("/api/v1/service-requests?overdue=true")["results"]]

    # The officer takes it on; the son hears.
    officer.post(f"/api/v1/service-requests/{rid}/transitions", {"to": "accepted", "from_status": "submitted",
                                                                 "note": "街道已督办，服务社马上联系"})
    push = system.wait_for_message("zhangsan", STATUS, detail_page(rid), "accepted by the officer", phrase2="已受理")
    assert_push(push, {"thing1": call["name"], "phrase2": "已受理", "thing3": "街道已督办，服务社马上联系"})

    # The escalation came from the worker process: its frame must reach the officer's socket too.
    officer_socket.event(f"staff.street.{street['id']}", "service_request.overdue",
                         "the worker's escalation reaches the officer's socket", id=rid)
    officer_socket.close()


def test_committee_staff_dispatch_a_morning_of_requests_from_the_board(system, people):
    son, staff, provider = people("zhangsan"), people("chenjuwei"), people("wuzhuli")
    hood = son.get("/api/v1/me")["current_neighborhood"]
    board_socket = staff.socket(f"staff.neighborhood.{hood['id']}")
    # Two services for his mother, both served by the street's 助老服务社 by default.
    items = [catalog_item(son, "clean-home"), catalog_item(son, "company-visit")]
    org_id = items[0]["default_provider_id"]
    assert org_id and items[1]["default_provider_id"] == org_id, items
    asked = [son.post("/api/v1/service-requests", {"item": item["id"]}, expect=201)["id"] for item in items]
    for rid in asked:
        board_socket.event(f"staff.neighborhood.{hood['id']}", "service_request.created", "a new card on the board", id=rid)

    # 陈主任 ticks both on 派单台 and sends them to the organization.
    console = ConsoleUser(system, "chenjuwei")
    board = console.page("/console/dispatch/?status=submitted")
    assert all(f"/console/dispatch/{rid}/" in board for rid in asked)
    answer = console.form_post("/console/dispatch/bulk-assign/",
                               {"ids": [str(rid) for rid in asked], "assignee_org": str(org_id)},
                               page="/console/dispatch/?status=submitted")
    assert answer.status_code == 302, (answer.status_code, answer.text[:500])
    for rid, item in zip(asked, items, strict=True):
        board_socket.event(f"staff.neighborhood.{hood['id']}", "service_request.updated", "the card moves", id=rid,
                           status="assigned")
        assert staff.get(f"/api/v1/service-requests/{rid}")["status"] == "assigned"
        # The organization's member and the son are told, on their phones.
        push = system.wait_for_message("wuzhuli", "demo-tpl-service-assigned", detail_page(rid), "bulk assigned")
        assert_push(push, {"thing1": item["name"], "thing2": hood["name"], "time3": ANY_TIME})
        push = system.wait_for_message("zhangsan", STATUS, detail_page(rid), "assigned", phrase2="已派单")
        assert_push(push, {"thing1": item["name"], "phrase2": "已派单"})
    assert set(asked) <= {r["id"] for r in provider.get("/api/v1/service-requests?scope=assigned")["results"]}

    # The board's counts are the API's counts for the same person.
    counts = console.http.get(f"{system.base}/console/dispatch/counts/", timeout=30).json()
    api_counts = staff.get("/api/v1/service-requests/counts")
    by_status = api_counts["by_status"]
    assert counts == {
        "submitted": by_status.get("submitted", 0), "accepted": by_status.get("accepted", 0),
        "in_service": by_status.get("assigned", 0) + by_status.get("in_service", 0), "overdue": api_counts["overdue"],
    }, (counts, api_counts)
    board_socket.close()
