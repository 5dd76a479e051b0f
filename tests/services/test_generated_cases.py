"""The generator's service-request cases (bench/generate/services.py) are what the live actions
leave: for every path the generator draws, the request is driven through the real create, moves
and rating, and the case and timeline the generator builds for the same moves must match."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.generate.services import OUTCOMES, _case_row
from cases.models import Case
from services.actions.ratings import do_rate_service_request
from services.actions.requests import check_create_service_request, do_create_service_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRequest
from tests.services.conftest import MEAL, item

S = ServiceRequest.Status
SCORE = 4


def _drive(world, path: list[str]) -> ServiceRequest:
    req = do_create_service_request(check_create_service_request(actor=world.son, item=item("meal-delivery"), extra=MEAL))
    for step in path:
        if step == S.RATED:
            do_rate_service_request(req.pk, actor=world.son, score=SCORE)
        elif step == S.REJECTED:
            do_transition_service_request(req.pk, actor=world.staff, to=step, reason="不在服务范围")
        elif step in (S.CANCELLED, S.REOPENED):
            # No note, as the generator's request timeline has none (a cancel's note would become
            # the case's reject reason).
            do_transition_service_request(req.pk, actor=world.son, to=step)
        elif step in (S.IN_SERVICE, S.COMPLETED):
            do_transition_service_request(req.pk, actor=world.worker, to=step)
        else:
            do_transition_service_request(req.pk, actor=world.staff, to=step)
    return ServiceRequest.objects.get(pk=req.pk)


def _shape(status, reopen_count, rating, reject_reason, answer, due, accept_due, resolve_due, stamps):
    which_due = None if due is None else "accept" if due == min(accept_due, resolve_due) else "resolve"
    return (status, reopen_count, rating, reject_reason, answer, which_due, tuple(s is not None for s in stamps))


@pytest.mark.parametrize("final,path", [(final, path) for final, _share, path in OUTCOMES], ids=[o[0] for o in OUTCOMES])
def test_the_generated_case_is_the_one_the_live_actions_leave(world, final, path):
    live_req = _drive(world, path)
    assert live_req.status == final
    live = Case.objects.get(service_request=live_req)

    # The generator's row and timeline for the same moves (its column order: bench/generate/services.py).
    t0 = dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)
    steps = [(step, 1, t0 + dt.timedelta(hours=i + 1)) for i, step in enumerate(path)]
    events: list[tuple] = []
    row = _case_row(
        1, events, live.unit_id, {}, requester=1, nb=live.neighborhood_id, street=live.street_id, final=final, steps=steps,
        created=t0, accept_due=live_req.accept_due_at, complete_due=live_req.complete_due_at, accept_hours=live.accept_hours,
        resolve_hours=live.resolve_hours, escalated=None, reject_reason="不在服务范围" if final == S.REJECTED else "",
        score=SCORE if final == S.RATED else None,
    )
    (_id, kind, status, _unit, _sup, _chain, _nb, _st, _rep, _ah, _rh, accept_due, resolve_due, due, _esc,
     accepted_at, resolved_at, finished_at, reopen_count, answer, reject_reason, rating, rated_at, _created) = row

    assert kind == live.kind
    assert _shape(status, reopen_count, rating, reject_reason, answer, due, accept_due, resolve_due,
                  (accepted_at, resolved_at, finished_at, rated_at)) == _shape(
        live.status, live.reopen_count, live.rating, live.reject_reason, live.answer, live.due_at, live.accept_due_at,
        live.resolve_due_at, (live.accepted_at, live.resolved_at, live.finished_at, live.rated_at))
    live_timeline = list(live.events.order_by("id").values_list("kind", "from_status", "to_status"))
    assert [(k, f, t) for _case, k, _actor, f, t, *_rest in events] == live_timeline
