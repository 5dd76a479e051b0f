"""Every write of the matters app. The case moves (accept, transfer, reject, resolve, confirm,
reopen, rate) are the engine's (cases.actions); here: creating a matter and 我也遇到."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from cases.actions import do_open_case, do_record_case_support
from cases.models import Case
from core.errors import Conflict, InvalidInput
from images.pipeline import validate_image_ids
from matters.models import Matter, MatterItem, MatterPhoto, MatterSupport
from matters.routing import check_location, check_neighborhood, check_no_similar_matter, route
from moderation.content import SCENE_FORUM, check_text
from residents.access import is_member
from residents.models import User

MAX_PHOTOS = 9


def do_create_matter(
    *,
    actor: User,
    item: MatterItem,
    text: str,
    place: str,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    neighborhood_id: int | None = None,
    hide_name: bool = False,
    photo_ids: list[int] | None = None,
    insist: bool = False,
) -> Matter:
    """Report a matter: checks first (neighborhood, area, unit, duplicates, images, WeChat's
    content check), then one transaction that opens the case at the routed unit."""
    neighborhood = check_neighborhood(actor, neighborhood_id)
    check_location(neighborhood, latitude, longitude)
    unit = route(neighborhood, item.category)
    if not insist:
        check_no_similar_matter(actor, neighborhood=neighborhood, category=item.category, place=place,
                                latitude=latitude, longitude=longitude)
    photo_ids = validate_image_ids(actor, photo_ids or [], limit=MAX_PHOTOS)
    verdict = check_text(user=actor, content=text, scene=SCENE_FORUM)  # before the transaction: a network call
    with transaction.atomic():
        case = do_open_case(
            actor=actor, kind="matter", unit=unit, neighborhood=neighborhood,
            accept_hours=item.accept_hours, resolve_hours=item.resolve_hours,
        )
        matter = Matter.objects.create(
            case=case, item=item, category=item.category, neighborhood=neighborhood, reporter=actor, text=text,
            text_status=verdict.status, latitude=latitude, longitude=longitude, place=place, hide_name=hide_name,
        )
        MatterPhoto.objects.bulk_create(
            MatterPhoto.rows(photo_ids, matter=matter)
        )
    return matter


def do_support_matter(matter_id: int, *, actor: User) -> Matter:
    """我也遇到 (+1): a neighbor of the same neighborhood follows an open matter; the answer
    reaches them too (cases.kinds followers)."""
    with transaction.atomic():
        matter = Matter.objects.select_for_update(of=("self",)).select_related("case").get(pk=matter_id)
        if matter.reporter_id == actor.pk:
            raise InvalidInput("own_matter", "这是您自己反映的诉求")
        if not is_member(actor, matter.neighborhood_id):
            raise InvalidInput("not_a_neighbor", "只有本居委/村的居民可以点「我也遇到」")
        if matter.case.status not in Case.OPEN:
            raise Conflict("matter_closed", "该诉求已办结，请重新反映", status=matter.case.status)
        try:
            with transaction.atomic():
                MatterSupport.objects.create(matter=matter, user=actor)
        except IntegrityError:
            raise Conflict("already_supported", "您已经点过「我也遇到」") from None
        Matter.objects.filter(pk=matter.pk).update(supporters_count=F("supporters_count") + 1)
        do_record_case_support(matter.case_id, actor=actor)
    matter.refresh_from_db(fields=["supporters_count"])
    return matter
