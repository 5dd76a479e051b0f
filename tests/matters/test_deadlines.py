"""Deadlines and escalation: overdue first in every queue; the periodic job moves an overdue
case up one level per missed deadline (物业 → 居委 → 城运中心网格), once, and tells the
supervising unit and the street's officers."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from cases.models import Case
from core.scheduler import periodic_jobs
from tests.conftest import Api
from tests.matters.conftest import created, url


def _overdue(matter_id: int, field: str, hours: int = 1) -> None:
    past = timezone.now() - timedelta(hours=hours)
    Case.objects.filter(matter__id=matter_id).update(**{field: past, "due_at": past})


def test_the_job_is_registered_with_the_scheduler():
    paths = {job.task_path for job in periodic_jobs()}
    assert {"cases.tasks.escalate_overdue_cases", "cases.tasks.close_unconfirmed_cases"} <= paths


def test_overdue_first_in_the_queue(world):
    api = Api(world.reporter)
    first = created(api, world.repair)
    second = created(api, world.repair, place="7号楼", latitude=None, longitude=None, insist=True)
    third = created(api, world.repair, place="9号楼", latitude=None, longitude=None, insist=True)
    _overdue(third["id"], "accept_due_at")
    queue = Api(world.property_worker).get("/api/v1/matters", {"scope": "queue"}).json()["results"]
    assert [m["id"] for m in queue] == [third["id"], first["id"], second["id"]]
    assert [m["is_overdue"] for m in queue] == [True, False, False]
    page = Api(world.property_worker).get("/api/v1/matters", {"scope": "queue", "limit": 1}).json()
    rest = Api(world.property_worker).get("/api/v1/matters", {"scope": "queue", "cursor": page["next_cursor"]}).json()
    assert [m["id"] for m in page["results"] + rest["results"]] == [third["id"], first["id"], second["id"]]


def test_a_missed_deadline_escalates_once_up_the_chain_and_tells_the_officer(world):
    matter = created(Api(world.reporter), world.repair)
    _overdue(matter["id"], "accept_due_at")
    assert do_escalate_overdue_cases() == 1
    assert do_escalate_overdue_cases() == 0  # idempotent: once per deadline
    body = Api(world.staff).get(url(matter["id"])).json()
    assert body["supervising_unit"]["id"] == world.committee.pk
    escalation = body["timeline"][-1]
    assert escalation["kind"] == "escalated" and escalation["to_unit"]["id"] == world.committee.pk
    assert "超过受理时限" in escalation["reason"]
    for user in (world.committee_worker, world.officer):
        kinds = [n["kind"] for n in Api(user).get("/api/v1/notifications").json()["results"]]
        assert kinds == ["case_overdue"], (user, kinds)
    # the supervising unit now sees it in its queue and may act on it
    committee = Api(world.committee_worker)
    assert [m["id"] for m in committee.get("/api/v1/matters", {"scope": "queue"}).json()["results"]] == [matter["id"]]
    assert committee.post(url(matter["id"], "accept")).json()["status"] == "accepted"
    # the resolve deadline passes too: one level further up
    _overdue(matter["id"], "resolve_due_at")
    assert do_escalate_overdue_cases() == 1
    body = Api(world.staff).get(url(matter["id"])).json()
    assert body["supervising_unit"]["id"] == world.grid.pk and "超过办结时限" in body["timeline"][-1]["reason"]
    assert do_escalate_overdue_cases() == 0


def test_an_answered_matter_is_not_escalated(world):
    matter = created(Api(world.reporter), world.repair)
    api = Api(world.property_worker)
    api.post(url(matter["id"], "accept"))
    api.post(url(matter["id"], "resolve"), {"answer": "已修复"})
    Case.objects.filter(matter__id=matter["id"]).update(resolve_due_at=timezone.now() - timedelta(hours=1))
    assert do_escalate_overdue_cases() == 0


def test_the_queues_partial_index_covers_exactly_the_queues_statuses():
    """matters.queries.queue reads the open cases through `case_open_queue`; PostgreSQL uses a
    partial index only when the query's condition implies the index's, so the two lists must agree."""
    from cases.models import Case

    [index] = [i for i in Case._meta.indexes if i.name == "case_open_queue"]
    statuses = dict(index.condition.children)["status__in"]
    assert sorted(statuses) == sorted(Case.ACCEPT_PHASE | Case.RESOLVE_PHASE)
