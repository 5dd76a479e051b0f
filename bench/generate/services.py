"""One-tap services: requests across the catalog in every state, with timelines and ratings.

Closed requests spread over the years; open ones are recent (an open request from two
years ago would be a data error, not history). Requests are where elders live, so
busy neighborhoods (more beneficiaries) file more.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from importlib import import_module

from django.apps import apps as django_apps
from django.db import connection

from core.crypto import encrypt
from residents.models import Beneficiary
from services.models import ProviderOrganization, ServiceItem, ServiceRating, ServiceRequest, ServiceRequestEvent

from . import World, rng_for
from .loader import Loader

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
                if step == S.COMPLETED:
                    completed_at = min(t, now)
                if step == S.ASSIGNED:
                    assigned = True
                previous = step
            escalated = created + accept_within if final == S.SUBMITTED and created + accept_within < now else None
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
            )

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
        ],
        requests(),
        total=total,
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
    world.counts.update(service_requests=n_requests, request_events=len(events), ratings=len(ratings))


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
