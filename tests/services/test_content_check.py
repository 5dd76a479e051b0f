"""What residents type (a request's note, a rating's comment) passes WeChat's msgSecCheck v2,
through the stand-in over real HTTP: risky text is refused and nothing is saved; text WeChat
wants reviewed is kept but hidden from the provider until staff approve it; when WeChat is
unreachable the elder's request is still accepted and the note waits for the late check."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.text_review import do_recheck_pending_text, do_review_service_text
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRating, ServiceRequest
from tests import factories as f
from tests.conftest import assert_error
from tests.services.conftest import MEAL, item

URL = "/api/v1/service-requests"


def _ask(api, note, **extra):
    return api.post(URL, {"item": item("meal-delivery").pk, "extra": MEAL, "note": note}, **extra)


def _assign(world, req):
    do_transition_service_request(req.pk, actor=world.staff, to="accepted")
    do_transition_service_request(req.pk, actor=world.staff, to="assigned", assignee_org_id=world.org.pk)


def _completed(world):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    _assign(world, req)
    do_transition_service_request(req.pk, actor=world.worker, to="in_service")
    do_transition_service_request(req.pk, actor=world.worker, to="completed")
    return req


def _sec_checks(standin) -> list[dict]:
    return [c for c in standin.control("GET", "calls")["calls"] if "msg_sec_check" in c["path"]]


def test_a_risky_note_is_refused_and_no_request_is_made(world, api_for):
    assert_error(_ask(api_for(world.son), "加我微信玩赌博"), 400, "content_rejected")
    assert not ServiceRequest.objects.exists()


def test_a_clean_note_is_checked_and_shown_to_the_provider(world, api_for, standin):
    response = _ask(api_for(world.son), "老人牙口不好，菜请煮烂一些")
    assert response.status_code == 201 and response.json()["note_status"] == "published"
    assert len(_sec_checks(standin)) == 1
    req = ServiceRequest.objects.get()
    _assign(world, req)
    assert api_for(world.worker).get(f"{URL}/{req.pk}").json()["note"] == "老人牙口不好，菜请煮烂一些"


def test_a_note_wechat_wants_reviewed_is_hidden_from_the_provider_until_staff_approve(world, api_for):
    response = _ask(api_for(world.son), "上次上访的事还没解决，麻烦送餐时顺便问问")
    assert response.status_code == 201
    body = response.json()
    assert body["note_status"] == "pending_review" and body["note"].startswith("上次上访")  # the author sees it
    req = ServiceRequest.objects.get(pk=body["id"])
    _assign(world, req)
    staff, worker = api_for(world.staff), api_for(world.worker)
    assert staff.get(f"{URL}/{req.pk}").json()["note"].startswith("上次上访")  # the reviewers see it
    assert worker.get(f"{URL}/{req.pk}").json()["note"] == ""
    assert worker.get(URL).json()["results"][0]["note"] == ""
    assert [r["id"] for r in staff.get(URL, {"text_pending": "true"}).json()["results"]] == [req.pk]

    approved = staff.post(f"{URL}/{req.pk}/text-review", {"field": "note", "decision": "approve"})
    assert approved.status_code == 200 and approved.json()["note_status"] == "published"
    assert worker.get(f"{URL}/{req.pk}").json()["note"].startswith("上次上访")
    assert staff.get(URL, {"text_pending": "true"}).json()["results"] == []
    events = api_for(world.son).get(f"{URL}/{req.pk}/events").json()["results"]
    assert events[-1]["kind"] == "text_reviewed" and events[-1]["note"] == "备注审核通过"


def test_staff_filing_for_an_elder_are_not_sent_to_the_check(world, api_for, standin):
    response = api_for(world.staff).post(
        URL, {"item": item("meal-delivery").pk, "extra": MEAL, "beneficiary": world.mother.pk, "note": "老人曾上访，态度要好"}
    )
    assert response.status_code == 201 and response.json()["note_status"] == "published"
    assert _sec_checks(standin) == []


def test_wechat_unreachable_still_accepts_the_request_and_the_late_check_decides(world, api_for, standin):
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "close"})
    son = api_for(world.son)
    clean = _ask(son, "下午三点后在家")
    risky = _ask(son, "赌博")
    assert clean.status_code == risky.status_code == 201  # an elder's request is never lost
    assert clean.json()["note_status"] == risky.json()["note_status"] == "pending_check"
    for response in (clean, risky):
        _assign(world, ServiceRequest.objects.get(pk=response.json()["id"]))
    worker = api_for(world.worker)
    assert [r["note"] for r in worker.get(URL).json()["results"]] == ["", ""]

    assert do_recheck_pending_text() == {"published": 0, "review": 0, "removed": 0, "still_pending": 2}
    standin.control("DELETE", "faults")
    assert do_recheck_pending_text() == {"published": 1, "review": 0, "removed": 1, "still_pending": 0}

    assert worker.get(f"{URL}/{clean.json()['id']}").json()["note"] == "下午三点后在家"
    kept = ServiceRequest.objects.get(pk=risky.json()["id"])
    assert kept.status == "assigned" and kept.note_status == "removed"  # the request stays, the text is hidden
    assert worker.get(f"{URL}/{kept.pk}").json()["note"] == ""
    assert do_recheck_pending_text() == {"published": 0, "review": 0, "removed": 0, "still_pending": 0}


def test_the_late_check_never_overrides_a_staff_decision(world, standin):
    standin.control("POST", "faults", {"path": "wxa/msg_sec_check", "kind": "errcode", "errcode": -1})
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL, note="赌博"))
    assert req.note_status == "pending_check"
    do_review_service_text(req.pk, actor=world.staff, field="note", decision="approve")  # staff looked first
    standin.control("DELETE", "faults")
    assert do_recheck_pending_text()["removed"] == 0
    req.refresh_from_db()
    assert req.note_status == "published"


def test_a_risky_rating_comment_is_refused_and_the_request_stays_completed(world, api_for):
    req = _completed(world)
    response = api_for(world.son).post(f"{URL}/{req.pk}/rating", {"score": 1, "comment": "这家是赌博窝点"})
    assert_error(response, 400, "content_rejected")
    req.refresh_from_db()
    assert req.status == "completed" and not ServiceRating.objects.exists()


def test_a_held_rating_comment_is_blank_for_the_provider_on_detail_and_timeline(world, api_for):
    req = _completed(world)
    response = api_for(world.son).post(f"{URL}/{req.pk}/rating", {"score": 2, "comment": "不满意，要去上访"})
    assert response.status_code == 201
    assert response.json()["comment"] == "不满意，要去上访" and response.json()["comment_status"] == "pending_review"

    def seen_by(user):
        api = api_for(user)
        rating = api.get(f"{URL}/{req.pk}").json()["rating"]
        rated = next(e for e in api.get(f"{URL}/{req.pk}/events").json()["results"] if e["kind"] == "rated")
        return rating["score"], rating["comment"], rated["note"]

    assert seen_by(world.worker) == (2, "", "")
    assert seen_by(world.staff) == (2, "不满意，要去上访", "不满意，要去上访")
    assert seen_by(world.son) == (2, "不满意，要去上访", "不满意，要去上访")
    removed = api_for(world.staff).post(f"{URL}/{req.pk}/text-review", {"field": "rating_comment", "decision": "remove"})
    assert removed.status_code == 200 and removed.json()["rating"]["comment_status"] == "removed"
    assert seen_by(world.worker) == (2, "", "")


def test_text_review_is_for_staff_of_the_region_once(world, api_for):
    response = _ask(api_for(world.son), "上访")
    req_id = response.json()["id"]
    url = f"{URL}/{req_id}/text-review"
    body = {"field": "note", "decision": "approve"}
    assert_error(api_for(world.other_officer).post(url, body), 404)
    assert_error(api_for(world.outsider).post(url, body), 404)
    assert_error(api_for(world.son).post(url, body), 403, "staff_only")
    for bad in ({}, {"field": "address", "decision": "approve"}, {"field": "note", "decision": "maybe"}):
        assert_error(api_for(world.staff).post(url, bad), 400, "invalid_input")
    assert ServiceRequest.objects.get(pk=req_id).note_status == "pending_review"

    staff = api_for(world.staff)
    assert staff.post(url, body, headers={"Idempotency-Key": "rv-1"}).status_code == 200
    assert staff.post(url, body, headers={"Idempotency-Key": "rv-1"}).status_code == 200  # replayed
    error = assert_error(staff.post(url, {"field": "note", "decision": "remove"}), 409, "text_review_state_changed")
    assert error["detail"]["current"] == "published"
    assert ServiceRequest.objects.get(pk=req_id).events.filter(kind="text_reviewed").count() == 1
    # Nothing to review: no rating yet.
    assert_error(staff.post(url, {"field": "rating_comment", "decision": "approve"}), 409, "text_review_state_changed")


def test_two_staff_reviewing_at_once_one_wins(world):
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL, note="上访"))
    colleague = f.staff(world.neighborhood)
    do_review_service_text(req.pk, actor=world.staff, field="note", decision="remove")
    with pytest.raises(Conflict) as lost:
        do_review_service_text(req.pk, actor=colleague, field="note", decision="approve")
    assert lost.value.code == "text_review_state_changed"
    req.refresh_from_db()
    assert req.note_status == "removed"


def test_the_content_check_of_a_note_runs_outside_any_transaction(world, api_for, monkeypatch):
    # A WeChat call may take its whole 3 s budget: it must not hold the create's transaction (and
    # on SQLite the write lock) open meanwhile. The create is one transaction, note or not: the
    # check runs before it (core.idempotency, `check=`).
    from django.db import connection

    from services.actions import common

    seen = []
    real = common.check_text
    outside = len(connection.atomic_blocks)  # the test's own transaction

    def observed(**kwargs):
        seen.append(len(connection.atomic_blocks) > outside)
        return real(**kwargs)

    monkeypatch.setattr(common, "check_text", observed)
    response = _ask(api_for(world.son), "下午三点后在家", headers={"Idempotency-Key": "note-1"})
    assert response.status_code == 201 and response.json()["note_status"] == "published"
    assert seen == [False]
    replay = _ask(api_for(world.son), "下午三点后在家", headers={"Idempotency-Key": "note-1"})
    assert replay.json()["id"] == response.json()["id"] and replay["Idempotent-Replayed"] == "true"
    # The repeat runs the check again (before its transaction too), then replays the first answer.
    assert ServiceRequest.objects.count() == 1 and seen == [False, False]
