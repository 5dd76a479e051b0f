"""一键表达 through the running system (make run's processes, HTTP only), issue 17.

张三 reports night-time construction noise by 5号楼 with a photo and his phone's location; 陈主任,
whose 居委会 the matter is routed to, gets the push and opens the matter from it. 李四, at the
same place, is offered the open matter and says 我也遇到. The 居委会 transfers it to the street's
城管中队, whose member accepts it; its 办结 deadline passes, and the scheduler's sweep, run by
the worker, escalates it to the street: 刘科长 (street officer) gets the push. The 城管中队
answers; both neighbors hear on their phones and in their inboxes. 张三 reopens it, the unit
answers again, he confirms and rates; the dashboard's closed-loop tables equal the case rows.
Every push is read as the WeChat stand-in received it: every field real, `page` opening the
matter for whoever received it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import uuid

import psutil
import pytest

from tests.journeys.people import ANY_TIME, ConsoleUser, assert_push, jpeg
from tests.journeys.system import PY, ROOT, wait_until

pytestmark = pytest.mark.slow

NEW = "demo-tpl-case-new"
OVERDUE = "demo-tpl-case-overdue"
UPDATE = "demo-tpl-case-update"
URBAN = "友谊路街道城管中队"
LABEL = "噪音扰民：夜间施工"
# 宝林一村, inside the demo district's box (matters/demo.py)
LAT, LNG = "31.345000", "121.445000"


def page_of(matter_id: int) -> str:
    return f"pages/matters/detail?id={matter_id}"


def opened_by(person, push: dict) -> dict:
    """The matter the push's page opens, as the mini-program fetches it for whoever got the push."""
    page = urllib.parse.urlsplit(push["page"])
    assert page.path == "pages/matters/detail", push["page"]
    matter_id = int(urllib.parse.parse_qs(page.query)["id"][0])
    return person.get(f"/api/v1/matters/{matter_id}")


def night_work(person) -> dict:
    categories = person.get("/api/v1/matters/categories")["categories"]
    return next(item for c in categories if c["name"] == "噪音扰民" for item in c["items"] if item["name"] == "夜间施工")


def make_member(system, openid: str, unit: str) -> int:
    """The district admin staffs a unit (责任单位 → 成员 in the admin): the demo's street units have
    nobody. Answers the unit's id."""
    out = system.shell(
        "from cases.models import ResponsibleUnit; from residents.models import User; "
        f"u = ResponsibleUnit.objects.get(name='{unit}'); u.members.add(User.objects.get(openid='{openid}')); print(u.pk)"
    )
    return int(out.strip().splitlines()[-1])


LOOP_ROWS = (
    "import json; from django.db.models import Count, F, Q; from cases.models import Case; "
    "finished = Case.objects.filter(kind='matter', status__in=['confirmed', 'closed']); "
    "loop = Q(status='confirmed', resolved_at__lte=F('resolve_due_at')); "
    "rows = lambda name: {g[name]: [g['n'], g['loops']] for g in finished.values(name).annotate(n=Count('pk'), loops=Count('pk', filter=loop))}; "
    "print(json.dumps({'unit': rows('unit__name'), 'street': rows('street__name')}, ensure_ascii=False))"
)


def loop_rows(system) -> dict:
    return json.loads(system.shell(LOOP_ROWS).strip().splitlines()[-1])


def loop_table(console: ConsoleUser, key: str) -> dict[str, list[int]]:
    response = console.http.get(f"{console.system.base}/console/dashboard/?table={key}&format=csv", timeout=60)
    assert response.status_code == 200, (response.status_code, response.text[:500])
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][1:3] == ["办结诉求", "闭环（按时答复且居民确认）"], table[0]
    return {row[0]: [int(row[1]), int(row[2])] for row in table[1:]}


def test_a_matter_from_one_tap_through_transfer_and_escalation_to_a_closed_loop(system, people):
    urban_id = make_member(system, "wuzhuli", URBAN)
    reporter, neighbor, committee, urban, officer = (
        people("zhangsan"), people("lisi"), people("chenjuwei"), people("wuzhuli"), people("liujiedao")
    )
    item = night_work(reporter)

    # 一键表达: a photo, the phone's location, the building.
    photo = reporter.post("/api/v1/images", files={"file": ("night.jpg", jpeg((30, 30, 60)), "image/jpeg")})
    matter = reporter.post("/api/v1/matters", {
        "item": item["id"], "text": "5号楼东侧工地每天夜里11点后还在打桩，吵得无法入睡", "place": "5号楼东侧",
        "latitude": LAT, "longitude": LNG, "photos": [photo["id"]],
    }, headers={"Idempotency-Key": uuid.uuid4().hex}, expect=201)
    mid = matter["id"]
    assert matter["status"] == "submitted" and matter["unit"]["name"] == "宝林一村居委会", matter
    assert (matter["latitude"], matter["longitude"]) == (LAT, LNG)

    # The 居委会's member is told on his phone; the push opens the matter, photo and all.
    push = system.wait_for_message("chenjuwei", NEW, page_of(mid), "the new matter reaches its unit")
    assert_push(push, {"thing1": LABEL, "thing2": "新诉求待受理", "time3": ANY_TIME})
    seen = opened_by(committee, push)
    assert seen["id"] == mid and "accept" in seen["allowed_actions"] and "transfer" in seen["allowed_actions"]

    def photos_shown() -> list[dict]:
        return committee.get(f"/api/v1/matters/{mid}")["photos"]

    for picture in wait_until(photos_shown, "the photo is shown to the unit after WeChat's media check"):
        for url in (picture["url"], picture["thumbnail_url"]):
            fetched = committee.fetch(url)
            assert fetched.status_code == 200 and fetched.headers["Content-Type"].startswith("image/"), url

    # 李四 at the same place: offered the open matter instead of a duplicate; he says 我也遇到.
    offered = neighbor.post("/api/v1/matters", {
        "item": item["id"], "text": "夜里施工太吵了", "place": "5号楼 东侧", "latitude": LAT, "longitude": LNG,
    }, expect=409)
    assert offered["error"]["code"] == "similar_matter_open", offered
    assert [c["id"] for c in offered["error"]["detail"]["candidates"]] == [mid]
    assert neighbor.post(f"/api/v1/matters/{mid}/plus-one")["supporters_count"] == 1

    # The 居委会 transfers it to the street's 城管中队; its member hears and accepts.
    moved = committee.post(f"/api/v1/matters/{mid}/transfer", {"unit": urban_id, "reason": "夜间施工扰民属城管执法"})
    assert moved["unit"]["name"] == URBAN and moved["status"] == "submitted"
    push = system.wait_for_message("wuzhuli", NEW, page_of(mid), "the transfer reaches the new unit")
    assert_push(push, {"thing1": LABEL, "thing2": "转办诉求待受理", "time3": ANY_TIME})
    assert "accept" in opened_by(urban, push)["allowed_actions"]
    assert urban.post(f"/api/v1/matters/{mid}/accept", {"from_status": "submitted"})["status"] == "accepted"

    # The 办结 deadline passes (the server's clock is real: an operator's shell moves it into the
    # past); the scheduler's sweep, run by the worker, escalates it to the street.
    system.shell(
        "import datetime as dt; from django.utils import timezone; from cases.models import Case; "
        "past = timezone.now() - dt.timedelta(minutes=1); "
        f"Case.objects.filter(matter__pk={mid}).update(resolve_due_at=past, due_at=past)"
    )
    push = system.wait_for_message("liujiedao", OVERDUE, page_of(mid), "the escalation reaches the street officer")
    assert_push(push, {"thing1": LABEL, "thing2": URBAN, "phrase3": "办结超时", "time4": ANY_TIME})
    escalated = opened_by(officer, push)
    assert escalated["is_overdue"] and escalated["supervising_unit"]["name"] == "友谊路街道城运中心网格", escalated
    assert any(e["kind"] == "escalated" for e in escalated["timeline"]), escalated["timeline"]

    # The 城管中队 answers: the reporter and the neighbor who said 我也遇到 hear it.
    answer = "已责令工地22点后停工并夜间巡查"  # within a thing field (20)
    urban.post(f"/api/v1/matters/{mid}/resolve", {"answer": answer})
    for person in (reporter, neighbor):
        push = system.wait_for_message(person.openid, UPDATE, page_of(mid), "the answer reaches a neighbor", thing3=answer)
        assert_push(push, {"thing1": LABEL, "phrase2": "已答复", "thing3": answer, "time4": ANY_TIME})
        shown = opened_by(person, push)
        assert (shown["status"], shown["answer"]) == ("resolved", answer)
        inbox = person.get("/api/v1/notifications")["results"]
        assert any(n["kind"] == "case_update" and n["body"] == answer and n["page"] == page_of(mid) for n in inbox), inbox

    # Not solved yet: 张三 reopens; the same unit hears, answers again, within its new deadline.
    reopened = reporter.post(f"/api/v1/matters/{mid}/reopen", {"reason": "昨晚12点还在施工"})
    assert reopened["status"] == "reopened"
    push = system.wait_for_message("wuzhuli", NEW, page_of(mid), "the reopened matter reaches the unit",
                                   thing2="诉求被重新打开")
    assert_push(push, {"thing1": LABEL, "thing2": "诉求被重新打开", "time3": ANY_TIME})
    second = "已对施工方立案处罚，工地夜间已停工"
    urban.post(f"/api/v1/matters/{mid}/resolve", {"answer": second})
    for openid in ("zhangsan", "lisi"):
        push = system.wait_for_message(openid, UPDATE, page_of(mid), "the second answer", thing3=second)
        assert_push(push, {"thing1": LABEL, "phrase2": "已答复", "thing3": second})

    # He confirms and rates: a closed loop (answered within the deadline in force, confirmed).
    assert reporter.post(f"/api/v1/matters/{mid}/confirm")["status"] == "confirmed"
    assert reporter.post(f"/api/v1/matters/{mid}/rating", {"score": 4})["rating"] == 4
    kinds = [e["kind"] for e in reporter.get(f"/api/v1/matters/{mid}")["timeline"]]
    for kind in ("submitted", "supported", "transferred", "accepted", "escalated", "resolved", "reopened", "confirmed", "rated"):
        assert kind in kinds, kinds

    # The district's dashboard: closed loops per unit and per street, equal to the case rows.
    rows = loop_rows(system)
    assert rows["unit"][URBAN] == [1, 1] and rows["street"]["友谊路街道"] == [1, 1], rows
    console = ConsoleUser(system, "qianqu")
    # The dashboard reads snapshots: it shows the confirmation after the scheduler's next refresh
    # (every 2 s here), which a busy machine may not have run by the time of the first look.
    wait_until(lambda: loop_table(console, "loops_unit") == rows["unit"], "the dashboard's loops per unit after a refresh")
    assert loop_table(console, "loops_unit") == rows["unit"]
    assert loop_table(console, "loops_street") == rows["street"]

    # Every push WeChat received was sent once: one per step, none twice.
    sent = [(m["touser"], m["template_id"], m.get("page"), json.dumps(m["data"], ensure_ascii=False))
            for m in system.standin_get("messages")["messages"]]
    assert len(sent) == len(set(sent)), sent


def worker_of(system) -> psutil.Process:
    launcher = psutil.Process(system.launcher.pid)
    return next(p for p in launcher.children(recursive=True) if "db_worker" in " ".join(p.cmdline()))


def freeze_between_writes(worker: psutil.Process, system) -> None:
    """SIGSTOP the worker outside a write transaction. On SQLite one lock guards every write: a
    worker frozen inside its poll's short write transaction would stop all writes until it
    thaws (each server write waits out its busy timeout and answers 503) — the reason production
    runs PostgreSQL, where a frozen transaction holds only its own rows. On PostgreSQL the
    worker is frozen wherever it is."""
    if system.backend.name != "sqlite":
        worker.send_signal(signal.SIGSTOP)
        return
    path = urllib.parse.urlsplit(system.database_url).path
    path = path[1:] if path.startswith("//") else path
    for _ in range(100):
        worker.send_signal(signal.SIGSTOP)
        probe = sqlite3.connect(path, timeout=2)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return
        except sqlite3.OperationalError:
            worker.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()
    raise AssertionError("the worker held SQLite's write lock every time it was frozen")


def test_a_hung_worker_replaced_mid_journey_sends_the_answer_once(system, people):
    reporter, committee = people("zhangsan"), people("chenjuwei")
    item = night_work(reporter)
    matter = reporter.post("/api/v1/matters", {"item": item["id"], "text": "小区北门夜里有人施工", "place": "北门",
                                               "insist": True}, expect=201)
    mid = matter["id"]
    system.wait_for_message("chenjuwei", NEW, page_of(mid), "the new matter")
    committee.post(f"/api/v1/matters/{mid}/accept")
    answer = "已联系施工单位，今晚起停止夜间施工"

    def answers_received() -> list[dict]:
        return [m for m in system.messages_to("zhangsan", UPDATE) if m.get("page") == page_of(mid)]

    # make_run's worker hangs (stopped, as a process stuck on a dead connection is; killing it
    # would make run_dev stop the whole stack). The answer commits with its outbox row; nothing
    # reaches WeChat.
    worker = worker_of(system)
    freeze_between_writes(worker, system)
    replacement = None
    try:
        committee.post(f"/api/v1/matters/{mid}/resolve", {"answer": answer})
        time.sleep(5)  # a few scheduler ticks: the outbox sweep enqueues, nobody runs it
        assert answers_received() == []

        # The operator starts another worker; it delivers the answer while the first still hangs.
        log = (system.folder / "replacement_worker.log").open("ab")
        replacement = subprocess.Popen(
            [PY, "manage.py", "db_worker", "--queue-name", "default,wechat", "--no-reload"],
            cwd=ROOT, env=system.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        push = system.wait_for_message("zhangsan", UPDATE, page_of(mid), "the answer from the replacement worker")
        assert_push(push, {"thing1": LABEL, "phrase2": "已答复", "thing3": answer, "time4": ANY_TIME})
    finally:
        worker.send_signal(signal.SIGCONT)
    try:
        # The hung worker comes back: whatever it had claimed must not send the answer again.
        time.sleep(8)
        assert len(answers_received()) == 1, answers_received()
        assert system.alive()
    finally:
        if replacement is not None:
            os.killpg(replacement.pid, signal.SIGTERM)
            replacement.wait(timeout=30)
