"""Filing a matter for a partner system (POST /open311/v2/requests): the key's filing right,
the neighborhood located from the point or the address, the key's scope, then the matters
app's own partner checks (`matters.actions.check_partner_matter`: area bounds, routing and the
no-unit error, the content check) and `do_open_matter`, with the partner recorded as the filer
(on the case timeline and in `PartnerRequest`)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from core.errors import Forbidden, InvalidInput, Unprocessable
from matters.actions import check_partner_matter, do_open_matter
from matters.models import Matter, MatterItem, RegionBounds
from open311.keys import neighborhood_ids_of
from open311.models import PartnerKey, PartnerRequest
from residents.models import Region

MAX_PLACE = 64  # matters.Matter.place
NAME_SUFFIXES = ("居民委员会", "村民委员会", "居委会", "村委会")


def _names(region: Region) -> set[str]:
    names = {region.name}
    for suffix in NAME_SUFFIXES:
        if region.name.endswith(suffix) and len(region.name) > len(suffix):
            names.add(region.name.removesuffix(suffix))
    return names


def locate_neighborhood(*, key: PartnerKey, latitude: Decimal | None, longitude: Decimal | None,
                        address: str) -> Region:
    """The neighborhood a request is about: the one neighborhood whose box holds the point;
    else the neighborhood the address names (its name, with or without 居委会/村委会, the
    longest match); else the key's only neighborhood. 422 `neighborhood_not_located` otherwise."""
    neighborhoods = Region.objects.filter(level=Region.Level.NEIGHBORHOOD).select_related("parent__parent")
    if latitude is not None:
        hits = list(
            RegionBounds.objects.filter(
                region__level=Region.Level.NEIGHBORHOOD, min_lat__lte=latitude, max_lat__gte=latitude,
                min_lng__lte=longitude, max_lng__gte=longitude,
            ).values_list("region_id", flat=True)[:2]
        )
        if len(hits) == 1:
            return neighborhoods.get(pk=hits[0])
    if address:
        best: dict[int, int] = {}
        for region_id, name in neighborhoods.values_list("id", "name"):
            for variant in _names(Region(name=name)):
                if variant in address:
                    best[region_id] = max(best.get(region_id, 0), len(variant))
        if best:
            longest = max(best.values())
            winners = [region_id for region_id, length in best.items() if length == longest]
            if len(winners) == 1:
                return neighborhoods.get(pk=winners[0])
    scoped = neighborhood_ids_of(key)
    if len(scoped) == 1:
        return neighborhoods.get(pk=next(iter(scoped)))
    raise Unprocessable(
        "neighborhood_not_located", "无法确定诉求所在的居委/村：请给出其范围内的 lat/long，或在 address_string 中写明居委/村名称",
        field="address_string",
    )


def do_file_request(*, key: PartnerKey, item: MatterItem, description: str, latitude: Decimal | None,
                    longitude: Decimal | None, address: str, attributes: dict | None = None,
                    attributes_text: str = "", idempotency_key: str | None = None, fingerprint: str = "") -> Matter:
    """`attributes` are the checked answers (open311/attributes.py), `attributes_text` their
    readable lines, appended to the text. With an `idempotency_key` the PartnerRequest row
    carries it under a unique constraint: a concurrent repeat raises IntegrityError here and
    rolls back whole (open311/idempotency.py answers it)."""
    if not key.may_file:
        raise Forbidden("filing_not_allowed", "该 api_key 没有提交诉求的权限")
    if latitude is None and not address:
        raise InvalidInput("location_required", "须提供 lat/long 或 address_string", field="lat")
    neighborhood = locate_neighborhood(key=key, latitude=latitude, longitude=longitude, address=address)
    if neighborhood.pk not in neighborhood_ids_of(key):
        raise Forbidden("region_out_of_scope", f"该 api_key 无权在{neighborhood.name}提交诉求", region=neighborhood.pk)
    place = (address or f"坐标 {latitude}, {longitude}")[:MAX_PLACE]
    text = f"{description}\n\n{attributes_text}" if attributes_text else description
    checked = check_partner_matter(  # before the transaction: the content check is a network call
        neighborhood=neighborhood, item=item, text=text, place=place, latitude=latitude, longitude=longitude,
    )
    with transaction.atomic():
        matter = do_open_matter(checked, actor=None, filed_by=f"由合作系统「{key.name}」通过 Open311 提交")
        PartnerRequest.objects.create(
            key=key, matter=matter, attributes=attributes or {}, idempotency_key=idempotency_key, fingerprint=fingerprint,
        )
    return matter
