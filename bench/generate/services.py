"""One-tap services: requests across the catalog in every state, with timelines and ratings.

Closed requests spread over the years; open ones are recent (an open request from two
years ago would be a data error, not history). Requests are where elders live, so
busy neighborhoods (more beneficiaries) file more.

Every request has its case on the engine, as `do_create_service_request` and the moves'
`services.actions.case_mirror.follow_request` leave it (the mapped status, the deadlines, the
rating, the reopen count, and a timeline row for each move that changes the case's status), on
its neighborhood's 居委 unit (`cases.units.committee_unit`: one per neighborhood, under the
street's 城运中心网格 unit that the matters section made). A request the generator marks
escalated has its case escalated once, as the engine's sweep does. The case rows follow the
tables case_mirror itself uses (CASE_STATUS, EVENT_OF, case_due), so a change there shows here.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from importlib import import_module
from types import SimpleNamespace

from django.apps import apps as django_apps
from django.db import connection

from cases.followed import hours_of
from cases.models import Case, CaseEvent, ResponsibleUnit
from core.crypto import encrypt
from residents.models import Beneficiary, Region
from services.actions.case_mirror import CASE_STATUS, EVENT_OF, KIND, case_due
from services.models import ProviderOrganization, ServiceItem, ServiceRating, ServiceRequest, ServiceRequestEvent

from . import World, rng_for
from .loader import Loader
from .matters import CASE_COLUMNS

S = ServiceRequest.Status
# (final status, share, the path that leads there)
OUTCOMES = [
    (S.RATED, 0.62, [S.ACCEPTED, S.ASSIGNED, S.IN_SERVICE, S.COMPLETED, S.RATED]),
    (S.COMPLETED, 0.18, [S.ACCEPTED, S.ASSIGNED, S.IN_SERVICE, S.COMPLETED]),
    (S.CANCELLED, 0.10, [S.CANCELLED]),
    (S.REJECTED, 0.05, [S.REJECTED]),
    # Open requests are the last few days' worth: ~300k over 3 years is ~270 a day.
    (S.REOPENED, 0.0005, [S.ACCEPTED, S.ASSIGNED, S.IN_SERVICE, S.COMPLETED, S.REOPENED]),
    (S.IN_SERVICE, 0.001, [S.ACCEPTED, S.ASSIGNED, S.IN_SERVICE]),
    (S.ASSIGNED, 0.0015, [S.ACCEPTED, S.ASSIGNED]),
    (S.ACCEPTED, 0.001, [S.ACCEPTED]),
    (S.SUBMITTED, 0.002, []),
]
STAFF_MOVES = {S.ACCEPTED, S.ASSIGNED, S.REJECTED}
PROVIDER_MOVES = {S.IN_SERVICE, S.COMPLETED}
HEALTH = ["高血压，需低盐饮食", "糖尿病，按时服药", "腿脚不便", "听力较弱，请大声说话", "无特殊情况"]
RATING_COMMENTS = ["服务很好，谢谢", "准时到达", "态度很好", "", "", "下次还找你们", "有点晚了"]


def make_services(loader: Loader, world: World) -> None:
    r = rng_for(world.seed, "services")
    if not ServiceItem.objects.exists():
        # --flush emptied the catalog the services migration seeds: seed it again the same way.
        import_module("services.migrations.0002_seed_catalog").seed(django_apps, None)
    items = list(
        ServiceItem.objects.filter(is_active=True, who_may_ask=ServiceItem.Requester.ANYONE).values_list(
            "id", "accept_within", "complete_within"
        )
    )
    orgs = _organizations(loader, world)
    committee, grids = _committee_units(loader, world)
    first_case = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    nbs = world.neighborhood_ids
    cum = list(itertools.accumulate(world.activity))
    outcome_cum = list(itertools.accumulate(share for _, share, _ in OUTCOMES))
    start, now = world.start(), world.now
    span = (now - start).total_seconds()
    total = world.scale.service_requests
    # The stored ciphertext, not the decrypted value the ORM would hand back.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, address FROM {Beneficiary._meta.db_table}")
        addresses = dict(cursor.fetchall())
    # A pool of ciphertexts for the few distinct health notes: Fernet per row would add
    # ~16 µs × 300k for values that repeat anyway (documented in bench/README.md).
    health_pool = [encrypt(h) for h in HEALTH]
    events: list[tuple] = []
    ratings: list[tuple] = []
    cases: list[tuple] = []
    case_events: list[tuple] = []

    def requests():
        for rid in range(1, total + 1):
            nb = nbs[min(len(nbs) - 1, bisect.bisect_left(cum, r.random() * cum[-1]))]
            elders = world.beneficiaries_of.get(nb) or []
            if not elders:
                continue
            beneficiary, requester = elders[int(r.random() * len(elders))]
            street = world.neighborhood_street[nb]
            item_id, accept_within, complete_within = items[int(r.random() * len(items))]
            k = bisect.bisect_left(outcome_cum, r.random() * outcome_cum[-1])
            if rid <= len(OUTCOMES):  # every state at least once, even at small scale
                k = rid - 1
            final, _share, path = OUTCOMES[min(k, len(OUTCOMES) - 1)]
            if final in ServiceRequest.OPEN_STATUSES:
                created = now - dt.timedelta(hours=r.uniform(0.5, 24 * 3))
            else:
                created = start + dt.timedelta(seconds=span * (rid - 1 + r.random()) / total)
            staff = world.staff_of[nb][rid % len(world.staff_of[nb])]
            provider = world.providers_of[street][rid % len(world.providers_of[street])]
            events.append((len(events) + 1, rid, ServiceRequestEvent.Kind.CREATED, requester, "", S.SUBMITTED, created))
            t = created
            previous = S.SUBMITTED
            completed_at = None
            assigned = False
            steps: list[tuple[str, int, dt.datetime]] = []  # (to status, actor, at), for the case
            score = None
            for step in path:
                t = t + dt.timedelta(minutes=r.uniform(5, 240))
                if step in STAFF_MOVES:
                    actor = staff
                elif step in PROVIDER_MOVES:
                    actor = provider
                else:
                    actor = requester
                if step == S.RATED:
                    kind = ServiceRequestEvent.Kind.RATED
                    score = 5 if r.random() < 0.7 else r.randint(1, 4)
                    ratings.append((len(ratings) + 1, rid, requester, score, r.choice(RATING_COMMENTS), t))
                else:
                    kind = ServiceRequestEvent.Kind.TRANSITION
                events.append((len(events) + 1, rid, kind, actor, previous, step, min(t, now)))
                steps.append((step, actor, min(t, now)))
                if step == S.COMPLETED:
                    completed_at = min(t, now)
                if step == S.ASSIGNED:
                    assigned = True
                previous = step
            escalated = created + accept_within if final == S.SUBMITTED and created + accept_within < now else None
            case_id = first_case + len(cases)
            cases.append(_case_row(
                case_id, case_events, committee[nb], grids, requester=requester, nb=nb, street=street, final=final,
                steps=steps, created=created, accept_due=created + accept_within, complete_due=created + complete_within,
                accept_hours=hours_of(accept_within), resolve_hours=hours_of(complete_within), escalated=escalated,
                reject_reason="不在服务范围" if final == S.REJECTED else "", score=score,
            ))
            yield (
                rid,
                item_id,
                requester,
                beneficiary,
                "",
                nb,
                street,
                final,
                False,
                addresses.get(beneficiary, ""),
                health_pool[rid % len(health_pool)],
                "",
                {},
                created + accept_within,
                created + complete_within,
                escalated,
                orgs.get(street) if assigned else None,
                provider if assigned else None,
                "不在服务范围" if final == S.REJECTED else "",
                requester,
                created,
                min(t, now),
                completed_at,
                case_id,
            )

    # Cases before their requests (a request points at its case); both are built in one pass.
    request_rows = list(requests())
    _load_cases(loader, cases, case_events)
    n_requests = loader.load(
        ServiceRequest,
        [
            "id",
            "item",
            "requester",
            "beneficiary",
            "beneficiary_name",
            "neighborhood",
            "street",
            "status",
            "filed_on_behalf",
            "address",
            "health_note",
            "note",
            "extra",
            "accept_due_at",
            "complete_due_at",
            "escalated_at",
            "assigned_org",
            "assigned_user",
            "reject_reason",
            "created_by",
            "created_at",
            "updated_at",
            "completed_at",
            "case",
        ],
        request_rows,
        total=len(request_rows),
        label="service requests",
    )
    loader.load(
        ServiceRequestEvent,
        ["id", "request", "kind", "actor", "from_status", "to_status", "created_at"],
        events,
        total=len(events),
        label="request timeline",
    )
    loader.load(
        ServiceRating,
        ["id", "request", "rater", "score", "comment", "created_at"],
        ratings,
        total=len(ratings),
        label="ratings",
    )
    world.counts.update(
        service_requests=n_requests, request_events=len(events), ratings=len(ratings), request_cases=len(cases),
        request_case_events=len(case_events),
    )


def _case_row(case_id: int, case_events: list[tuple], unit: int, grids: dict[int, tuple[int, str]], *, requester: int,
              nb: int, street: int, final: str, steps: list[tuple[str, int, dt.datetime]], created: dt.datetime,
              accept_due: dt.datetime, complete_due: dt.datetime, accept_hours: int, resolve_hours: int,
              escalated: dt.datetime | None, reject_reason: str, score: int | None) -> tuple:
    """The request's case row as case_mirror leaves it after these moves, and its timeline rows
    (appended to `case_events`): `submitted` on create, one per move that changes the case's
    status, `rated` after the confirmation, `escalated` when the sweep passed its deadline."""
    C = Case.Status
    case_events.append((case_id, CaseEvent.Kind.SUBMITTED, requester, "", C.SUBMITTED, None, unit, "", created))
    accepted_at = resolved_at = finished_at = rated_at = None
    reopen_count = 0
    before = C.SUBMITTED
    for step, actor, at in steps:
        after = CASE_STATUS[step]
        if after == before:
            continue
        if after == C.ACCEPTED:
            accepted_at = at
        elif after == C.RESOLVED:
            resolved_at = at
        elif after in (C.REJECTED, C.CONFIRMED):
            finished_at = at
        elif after == C.REOPENED:
            reopen_count, resolved_at, finished_at = reopen_count + 1, None, None
        case_events.append((case_id, EVENT_OF[after], actor, before, after, None, None, "", at))
        if after == C.CONFIRMED and score is not None:
            rated_at = at
            case_events.append((case_id, CaseEvent.Kind.RATED, actor, C.CONFIRMED, C.CONFIRMED, None, None, f"{score}星", at))
        before = after
    due = case_due(SimpleNamespace(status=final, accept_due_at=accept_due, complete_due_at=complete_due))
    escalated_for = supervising = None
    if escalated is not None and due is not None:
        # The sweep's one escalation for this deadline (cases.actions.do_escalate_overdue_cases).
        supervising, name = grids.get(street, (None, ""))
        escalated_for = due
        reason = "超过受理时限" + (f"，已上报{name}" if supervising else "，已报街道")
        case_events.append((case_id, CaseEvent.Kind.ESCALATED, None, before, before, unit, supervising, reason, due))
    return (
        case_id, KIND, CASE_STATUS[final], unit, supervising, [unit], nb, street, requester, accept_hours, resolve_hours,
        accept_due, complete_due, due, escalated_for, accepted_at, resolved_at, finished_at, reopen_count, "",
        reject_reason[:500], score, rated_at, created,
    )


def _load_cases(loader: Loader, cases: list[tuple], case_events: list[tuple]) -> None:
    loader.load(
        Case,
        CASE_COLUMNS,
        cases, total=len(cases), label="request cases",
    )
    first_event = (CaseEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    loader.load(
        CaseEvent,
        ["id", "case", "kind", "actor", "from_status", "to_status", "from_unit", "to_unit", "reason", "created_at"],
        ((first_event + j, *row) for j, row in enumerate(case_events)), total=len(case_events),
        label="request case timeline",
    )


def _committee_units(loader: Loader, world: World) -> tuple[dict[int, int], dict[int, tuple[int, str]]]:
    """Each neighborhood's 居委 unit as `cases.units.committee_unit` makes it (the neighborhood's
    name, under the street's grid unit). Returns {neighborhood: unit} and {street: (grid unit, its name)}."""
    grids: dict[int, tuple[int, str]] = {}
    for uid, region, name in (
        ResponsibleUnit.objects.filter(kind=ResponsibleUnit.Kind.GRID, is_active=True).order_by("-pk")
        .values_list("pk", "region_id", "name")
    ):
        grids[region] = (uid, name)  # the lowest id wins, as in committee_unit's order_by("pk").first()
    names = dict(Region.objects.filter(pk__in=world.neighborhood_ids).values_list("pk", "name"))
    unit0 = (ResponsibleUnit.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    units, by_nb = [], {}
    for i, nb in enumerate(world.neighborhood_ids):
        by_nb[nb] = unit0 + i
        parent = grids[world.neighborhood_street[nb]][0] if world.neighborhood_street[nb] in grids else None
        units.append((unit0 + i, names[nb], ResponsibleUnit.Kind.COMMITTEE, nb, parent, True))
    loader.load(ResponsibleUnit, ["id", "name", "kind", "region", "parent", "is_active"], units, total=len(units),
                label="committee units")
    return by_nb, grids


def _organizations(loader: Loader, world: World) -> dict[int, int]:
    """One 助老服务社 per street whose staff are the street's service providers."""
    start_id = (ProviderOrganization.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    rows, members, by_street = [], [], {}
    through = ProviderOrganization.members.through
    for i, street in enumerate(world.street_ids):
        org_id = start_id + i
        by_street[street] = org_id
        rows.append((org_id, f"助老服务社{street}", street, "021-00000000", True, world.start()))
        for user in world.providers_of[street]:
            members.append((len(members) + 1, org_id, user))
    loader.load(
        ProviderOrganization,
        ["id", "name", "street", "phone", "is_active", "created_at"],
        rows,
        total=len(rows),
        label="provider orgs",
    )
    loader.load(through, ["id", "providerorganization", "user"], members, total=len(members), label="provider staff")
    return by_street
