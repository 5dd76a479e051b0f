"""Bulk accept / assign for the dispatch board: one locked transaction per id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core.errors import DomainError, InvalidInput, NotFound
from residents.access import require_staff
from residents.models import User
from services.actions.common import Status, lock_request
from services.actions.transitions import do_transition_service_request
from services.models import ServiceRequest

BULK_TARGETS = (Status.ACCEPTED, Status.ASSIGNED)


MAX_BULK_IDS = 100


_BULK_OUTCOME = {400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict"}


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one id of a bulk move. `status` is the request's state after the move
    (ok) or the state that stopped it (conflict); never given for not_found."""

    id: int
    outcome: str  # ok | conflict | not_found | invalid | forbidden
    status_code: int
    status: str | None = None
    error: dict[str, Any] | None = None


def do_bulk_transition(
    *,
    actor: User,
    ids: list[int],
    to: str,
    assignee_org_id: int | None = None,
    assignee_user_id: int | None = None,
    note: str = "",
    accept_first: bool = False,
) -> list[BulkOutcome]:
    """Accept or assign many requests at once (the API's bulk endpoint and the console's dispatch
    board both call this). Each id is its own locked transaction through
    `do_transition_service_request`, so one id that lost a race (409 with its current state) or
    cannot be assigned (400) does not undo the others. Ids outside the actor's region answer
    exactly like ids that do not exist (not_found), and nothing about them is read.

    `accept_first` (with `to=assigned`): a request still `submitted` is accepted and assigned in
    the same transaction — both moves or neither (the dispatch board's "派单" on a fresh request)."""
    if to not in BULK_TARGETS:
        raise InvalidInput("invalid_bulk_target", "批量操作只支持受理或派单", field="to")
    if not ids or len(ids) > MAX_BULK_IDS:
        raise InvalidInput("invalid_bulk_ids", f"一次可处理 1 到 {MAX_BULK_IDS} 张工单", field="ids")
    if len(set(ids)) != len(ids):
        raise InvalidInput("invalid_bulk_ids", "工单重复", field="ids")
    if to != Status.ASSIGNED and (assignee_org_id is not None or assignee_user_id is not None or accept_first):
        raise InvalidInput("assignee_not_allowed", "只有派单时可以指定服务机构或人员", field="assignee_org")
    staff_of = require_staff(actor).staff_of
    # A request never changes neighborhood, so this scoping read need not hold the locks.
    in_region = set(
        ServiceRequest.objects.filter(pk__in=ids, neighborhood_id__in=staff_of).values_list("pk", flat=True)
    )
    outcomes: list[BulkOutcome] = []
    for request_id in ids:
        try:
            if request_id not in in_region:
                raise NotFound("service_request_not_found", "服务工单不存在")
            with transaction.atomic():
                if accept_first and to == Status.ASSIGNED:
                    # Held until this id's transaction ends, so nobody moves it between the two steps.
                    current = lock_request(request_id).status
                    if current == Status.SUBMITTED:
                        do_transition_service_request(
                            request_id, actor=actor, to=Status.ACCEPTED, expected_status=Status.SUBMITTED
                        )
                req = do_transition_service_request(
                    request_id, actor=actor, to=to, note=note,
                    assignee_org_id=assignee_org_id, assignee_user_id=assignee_user_id,
                )
        except DomainError as exc:
            outcomes.append(
                BulkOutcome(
                    id=request_id,
                    outcome=_BULK_OUTCOME.get(exc.status_code, "invalid"),
                    status_code=exc.status_code,
                    status=exc.detail.get("current") if exc.status_code == 409 else None,
                    error={"code": exc.code, "message": exc.message, "detail": exc.detail},
                )
            )
        else:
            outcomes.append(BulkOutcome(id=request_id, outcome="ok", status_code=200, status=req.status))
    return outcomes
