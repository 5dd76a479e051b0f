"""A matter from report to the resident's verdict: accept, answer, confirm or reopen within
7 days, rate once; reject with a reason the resident sees; who may do which move."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cases.actions import do_close_unconfirmed_cases
from cases.models import Case
from tests.conftest import Api, assert_error
from tests.matters.conftest import created, url


def _answered(world) -> tuple[dict, Api, Api]:
    matter = created(Api(world.reporter), world.repair)
    unit, reporter = Api(world.property_worker), Api(world.reporter)
    assert unit.post(url(matter["id"], "accept")).json()["status"] == "accepted"
    body = unit.post(url(matter["id"], "resolve"), {"answer": "已更换灯泡"}).json()
    assert body["status"] == "resolved" and body["answer"] == "已更换灯泡" and body["due_at"] is None
    return matter, unit, reporter


def test_accept_answer_confirm_and_rate(world):
    matter, unit, reporter = _answered(world)
    inbox = reporter.get("/api/v1/notifications").json()["results"]
    assert [n["kind"] for n in inbox] == ["case_update"]
    assert reporter.get(url(matter["id"])).json()["allowed_actions"] == ["confirm", "reopen"]
    assert reporter.post(url(matter["id"], "confirm")).json()["status"] == "confirmed"
    body = reporter.post(url(matter["id"], "rating"), {"score": 5}).json()
    assert body["rating"] == 5
    assert [e["kind"] for e in body["timeline"]] == ["submitted", "accepted", "resolved", "confirmed", "rated"]
    assert body["timeline"][1]["actor_name"] == "物业王经理"
    assert_error(reporter.post(url(matter["id"], "rating"), {"score": 4}), 409, "already_rated")
    assert_error(reporter.post(url(matter["id"], "rating"), {"score": 9}), 400)


def test_only_the_unit_or_staff_act_and_only_the_reporter_decides(world):
    matter = created(Api(world.reporter), world.repair)
    assert_error(Api(world.neighbor).post(url(matter["id"], "accept")), 403, "not_responsible_unit")
    assert_error(Api(world.reporter).post(url(matter["id"], "accept")), 403, "not_responsible_unit")
    assert Api(world.staff).post(url(matter["id"], "accept")).status_code == 200  # staff may step in
    Api(world.property_worker).post(url(matter["id"], "resolve"), {"answer": "已修好"})
    assert_error(Api(world.property_worker).post(url(matter["id"], "confirm")), 403, "reporter_only")
    assert_error(Api(world.neighbor).post(url(matter["id"], "reopen"), {"reason": "没修好"}), 403, "reporter_only")


def test_a_move_the_status_does_not_allow_is_409_with_the_status(world):
    matter = created(Api(world.reporter), world.repair)
    error = assert_error(Api(world.property_worker).post(url(matter["id"], "resolve"), {"answer": "好了"}), 409, "case_state_changed")
    assert error["detail"]["status"] == "submitted"
    assert_error(Api(world.reporter).post(url(matter["id"], "rating"), {"score": 3}), 409, "case_state_changed")


def test_reject_with_a_reason_the_resident_sees(world):
    matter = created(Api(world.reporter), world.repair)
    assert_error(Api(world.property_worker).post(url(matter["id"], "reject"), {"reason": ""}), 400)
    body = Api(world.property_worker).post(url(matter["id"], "reject"), {"reason": "路灯属市政，已告知12345"}).json()
    assert body["status"] == "rejected"
    seen = Api(world.reporter).get(url(matter["id"])).json()
    assert seen["reject_reason"] == "路灯属市政，已告知12345" and seen["timeline"][-1]["reason"] == "路灯属市政，已告知12345"
    # a rejected matter leaves the neighborhood's public view
    assert_error(Api(world.neighbor).get(url(matter["id"])), 404)


def test_reopen_within_seven_days_sends_it_back_to_the_unit_on_fresh_deadlines(world):
    matter, unit, reporter = _answered(world)
    assert_error(reporter.post(url(matter["id"], "reopen"), {"reason": ""}), 400)
    body = reporter.post(url(matter["id"], "reopen"), {"reason": "晚上还是不亮"}).json()
    assert body["status"] == "reopened" and body["reopen_count"] == 1 and body["due_at"] is not None
    assert [n["kind"] for n in unit.get("/api/v1/notifications").json()["results"]][0] == "case_assigned"
    assert unit.post(url(matter["id"], "accept")).json()["status"] == "accepted"
    assert unit.post(url(matter["id"], "resolve"), {"answer": "已更换线路"}).json()["status"] == "resolved"


def test_after_seven_days_it_cannot_be_reopened_and_the_job_closes_it(world):
    matter, unit, reporter = _answered(world)
    Case.objects.filter(matter__id=matter["id"]).update(resolved_at=timezone.now() - timedelta(days=7, minutes=1))
    assert_error(reporter.post(url(matter["id"], "reopen"), {"reason": "还是不亮"}), 409, "reopen_window_passed")
    assert do_close_unconfirmed_cases() == 1
    assert do_close_unconfirmed_cases() == 0
    body = reporter.get(url(matter["id"])).json()
    assert body["status"] == "closed" and body["timeline"][-1]["kind"] == "closed"
    assert reporter.post(url(matter["id"], "rating"), {"score": 2}).json()["rating"] == 2
