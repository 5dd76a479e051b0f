"""Checks a new matter passes before anything is written (`check_*`, called before the create
transaction): the reporter's neighborhood, the point inside its area, a unit to route to, and
no open matter at the same place already (我也遇到)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from cases.models import Case, ResponsibleUnit
from core.errors import Conflict, Forbidden, Unprocessable
from matters.models import Matter, MatterCategory, RegionBounds, RoutingRule
from residents.access import current_neighborhood_id, profile
from residents.models import Region, User

SAME_PLACE_METERS = 50


SIMILAR_DAYS = 7  # an open matter this recent at the same place is offered as 我也遇到


def check_neighborhood(actor: User, neighborhood_id: int | None) -> Region:
    """The neighborhood the matter is about: one the reporter is an approved member of."""
    member_of = profile(actor).member_of
    chosen = neighborhood_id if neighborhood_id is not None else current_neighborhood_id(actor)
    if chosen is None or chosen not in member_of:
        raise Forbidden("membership_required", "请先加入所在居委/村，再反映诉求")
    return Region.objects.select_related("parent__parent").get(pk=chosen)


def _chain(neighborhood: Region) -> list[Region]:
    street = neighborhood.parent
    return [r for r in (neighborhood, street, street.parent if street else None) if r is not None]


def check_location(neighborhood: Region, latitude: Decimal | None, longitude: Decimal | None) -> None:
    """The point must lie in the nearest configured box (neighborhood, else street, else
    district); with no box configured only the coordinates' ranges are checked (serializer)."""
    if latitude is None:
        return
    chain = _chain(neighborhood)
    boxes = {b.region_id: b for b in RegionBounds.objects.filter(region__in=chain)}
    for region in chain:
        box = boxes.get(region.pk)
        if box is not None:
            if not box.contains(latitude, longitude):
                raise Unprocessable(
                    "location_out_of_region", f"所选位置不在{region.name}范围内，请确认定位", region=region.pk,
                    field="latitude",
                )
            return


def route(neighborhood: Region, category: MatterCategory) -> ResponsibleUnit:
    chain = _chain(neighborhood)
    rules = {
        r.region_id: r for r in RoutingRule.objects.filter(region__in=chain, category=category, unit__is_active=True)
        .select_related("unit")
    }
    for region in chain:
        if region.pk in rules:
            return rules[region.pk].unit
    raise Unprocessable(
        "no_responsible_unit", f"{neighborhood.name}尚未配置「{category.name}」的责任单位，请联系居委", category=category.pk
    )


def _meters(lat1, lng1, lat2, lng2) -> float:
    """Equirectangular distance: exact enough at 50 m."""
    lat1, lng1, lat2, lng2 = map(lambda v: math.radians(float(v)), (lat1, lng1, lat2, lng2))
    x = (lng2 - lng1) * math.cos((lat1 + lat2) / 2)
    return math.hypot(x, lat2 - lat1) * 6_371_000


def _norm(place: str) -> str:
    return "".join(place.split()).lower()


@dataclass(frozen=True)
class Candidate:
    id: int
    item: str
    place: str
    status: str
    supporters: int
    created_at: str


def check_no_similar_matter(actor: User, *, neighborhood: Region, category: MatterCategory, place: str,
                            latitude: Decimal | None, longitude: Decimal | None) -> None:
    """An open matter of the same category at the same place (same place text, or within
    SAME_PLACE_METERS) in the last SIMILAR_DAYS: 409 similar_matter_open naming it, so the
    resident can say 我也遇到 instead; `insist` skips this check."""
    recent = (
        Matter.objects.filter(
            neighborhood=neighborhood, category=category, case__status__in=Case.OPEN,
            created_at__gte=timezone.now() - timedelta(days=SIMILAR_DAYS),
        )
        .filter(Q(text_status=Matter.TextStatus.PUBLISHED) | Q(reporter=actor))  # only what the resident may see
        .select_related("item", "case")
        .order_by("-created_at")[:50]
    )
    wanted = _norm(place)
    found = []
    for matter in recent:
        same = _norm(matter.place) == wanted
        if not same and latitude is not None and matter.latitude is not None:
            same = _meters(latitude, longitude, matter.latitude, matter.longitude) <= SAME_PLACE_METERS
        if same:
            found.append(Candidate(
                id=matter.pk, item=matter.item.name, place=matter.place, status=matter.case.status,
                supporters=matter.supporters_count, created_at=matter.created_at.isoformat(),
            ).__dict__)
    if found:
        raise Conflict(
            "similar_matter_open", "附近已有人反映了同类问题，可以点「我也遇到」跟进；确认不同可坚持提交",
            candidates=found[:5],
        )
