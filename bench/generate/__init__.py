"""A realistic district for load tests: `manage.py generate_district --scale baoshan|small`.

Sections run in dependency order; each app's section runs only when that app's models
exist on this branch (the domain apps land one by one). Every section draws from its own
random.Random seeded from (seed, section name), so the output is the same for a seed and
a section can change without shifting the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Scale:
    name: str
    streets: int
    neighborhoods: int
    households: int  # all households in the district (the coverage denominator)
    joined_households: int  # households with at least one resident on the platform
    residents: int
    party_members: int
    building_groups_per_neighborhood: int
    beneficiaries: int
    posts: int
    comments: int
    likes: int
    service_requests: int
    topics: int
    ballots: int
    notifications: int
    # 一键表达: matters across the neighborhoods and the units they are routed to (issue 17).
    matters: int
    responsible_units: int
    years: int = 3
    # Zipf exponent for how activity spreads over neighborhoods (busy vs quiet).
    zipf_s: float = 1.0


SCALES = {
    "baoshan": Scale(
        name="baoshan",
        streets=12,
        neighborhoods=550,
        households=410_000,
        joined_households=330_000,
        residents=450_000,
        party_members=43_000,
        building_groups_per_neighborhood=8,
        beneficiaries=40_000,
        posts=5_000_000,
        comments=5_000_000,
        likes=20_000_000,
        service_requests=300_000,
        topics=5_000,
        ballots=1_000_000,
        notifications=1_000_000,
        matters=200_000,
        responsible_units=300,
    ),
    # Baoshan's 12 streets and 550 neighborhoods with a tenth of its rows: the snapshot backfill's
    # rows (neighborhoods × days) at full size and everything else a tenth, for profiling the
    # generator in a few minutes (bench/README.md, "Issue 20 — generator").
    "tenth": Scale(
        name="tenth",
        streets=12,
        neighborhoods=550,
        households=41_000,
        joined_households=33_000,
        residents=45_000,
        party_members=4_300,
        building_groups_per_neighborhood=8,
        beneficiaries=4_000,
        posts=500_000,
        comments=500_000,
        likes=2_000_000,
        service_requests=30_000,
        topics=500,
        ballots=100_000,
        notifications=100_000,
        matters=20_000,
        responsible_units=300,
    ),
    "small": Scale(
        name="small",
        streets=2,
        neighborhoods=6,
        households=3_000,
        joined_households=2_400,
        residents=3_000,
        party_members=300,
        building_groups_per_neighborhood=3,
        beneficiaries=200,
        posts=2_000,
        comments=2_000,
        likes=8_000,
        service_requests=600,
        topics=30,
        ballots=600,
        notifications=1_000,
        matters=400,
        responsible_units=13,
    ),
}


def rng_for(seed: int, section: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{section}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def zipf_weights(n: int, s: float, r: random.Random) -> list[float]:
    """Weights 1/rank^s over n items, ranks shuffled so busy places are spread over streets."""
    ranks = list(range(1, n + 1))
    r.shuffle(ranks)
    raw = [1.0 / (rank**s) for rank in ranks]
    total = sum(raw)
    return [w / total for w in raw]


def split_total(total: int, weights: list[float]) -> list[int]:
    """Integer parts of `total` by weights that sum exactly to `total` (largest remainder)."""
    exact = [total * w for w in weights]
    parts = [int(x) for x in exact]
    short = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[:short]:
        parts[i] += 1
    return parts


@dataclass
class World:
    """What earlier sections made that later ones refer to (ids only, no ORM objects)."""

    scale: Scale
    seed: int
    now: dt.datetime
    district_id: int = 0
    street_ids: list[int] = field(default_factory=list)
    neighborhood_ids: list[int] = field(default_factory=list)
    neighborhood_street: dict[int, int] = field(default_factory=dict)
    # Activity weight per neighborhood (same order as neighborhood_ids), Zipf-like.
    activity: list[float] = field(default_factory=list)
    # resident user ids per neighborhood (approved members only)
    residents_of: dict[int, list[int]] = field(default_factory=dict)
    staff_of: dict[int, list[int]] = field(default_factory=dict)  # neighborhood -> committee staff ids
    officers_of: dict[int, list[int]] = field(default_factory=dict)  # street -> officer ids
    providers_of: dict[int, list[int]] = field(default_factory=dict)  # street -> service provider ids
    admin_ids: list[int] = field(default_factory=list)
    beneficiaries_of: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # nb -> [(beneficiary, owner)]
    counts: dict[str, int] = field(default_factory=dict)

    def start(self) -> dt.datetime:
        return self.now - dt.timedelta(days=365 * self.scale.years)
