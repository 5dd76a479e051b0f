"""Every write of the matters app. The case moves (accept, transfer, reject, resolve, confirm,
reopen, rate) are the engine's (cases.actions); here: creating a matter (a resident's
`check_create_matter`, a partner system's `check_partner_matter`, or staff turning a feed post
into one; then `do_open_matter`), 我也遇到 and merging two matters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from cases.actions import do_announce_case, do_merge_case, do_open_case, do_record_case_support, do_tell_merged
from cases.models import Case, ResponsibleUnit
from core.errors import Conflict, Forbidden, InvalidInput
from images.pipeline import validate_image_ids
from matters.models import Matter, MatterItem, MatterPhoto, MatterSupport
from matters.routing import check_location, check_neighborhood, check_no_similar_matter, route
from moderation import recheck
from moderation.content import PENDING_CHECK, SCENE_FORUM, check_text
from residents.access import is_member, is_staff_for
from residents.models import Region, User

MAX_PHOTOS = 9


# do_open_matter's default reporter: the actor (a resident reporting for themself).
_SAME_AS_ACTOR = object()


@dataclass(frozen=True)
class CheckedMatter:
    """What the checks passed, handed to `do_open_matter`: nothing is written before it."""

    item: MatterItem
    neighborhood: Region
    unit: ResponsibleUnit
    text: str
    text_status: str
    place: str
    latitude: Decimal | None
    longitude: Decimal | None
    hide_name: bool = False
    photo_ids: tuple[int, ...] = ()


def check_create_matter(
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
) -> CheckedMatter:
    """A resident's report: neighborhood, area, unit, duplicates, images, then WeChat's content
    check (a network call, so before any transaction)."""
    neighborhood = check_neighborhood(actor, neighborhood_id)
    check_location(neighborhood, latitude, longitude)
    unit = route(neighborhood, item.category)
    if not insist:
        check_no_similar_matter(actor, neighborhood=neighborhood, category=item.category, place=place,
                                latitude=latitude, longitude=longitude)
    photo_ids = validate_image_ids(actor, photo_ids or [], limit=MAX_PHOTOS)
    verdict = check_text(user=actor, content=text, scene=SCENE_FORUM)
    return CheckedMatter(
        item=item, neighborhood=neighborhood, unit=unit, text=text, text_status=verdict.status, place=place,
        latitude=latitude, longitude=longitude, hide_name=hide_name, photo_ids=tuple(photo_ids),
    )


def check_partner_matter(
    *, neighborhood: Region, item: MatterItem, text: str, place: str,
    latitude: Decimal | None = None, longitude: Decimal | None = None,
) -> CheckedMatter:
    """A matter a partner system files (Open311, open311/actions.py) for a neighborhood it has
    already located and is scoped to: the same area, routing and content checks as a
    resident's. No membership (no resident files it), no 我也遇到 offer (a partner cannot
    say +1; staff merge), no photos. Without a resident's openid WeChat cannot check the
    text, so it is born `pending_review` (moderation.content.check_text): neighbors see it
    once a person passed it; the unit sees it at once."""
    check_location(neighborhood, latitude, longitude)
    unit = route(neighborhood, item.category)
    verdict = check_text(user=None, content=text, scene=SCENE_FORUM)
    return CheckedMatter(
        item=item, neighborhood=neighborhood, unit=unit, text=text, text_status=verdict.status, place=place,
        latitude=latitude, longitude=longitude,
    )


def do_open_matter(
    checked: CheckedMatter, *, actor: User | None, reporter: User | None | object = _SAME_AS_ACTOR,
    filed_by: str = "", source_post_id: int | None = None,
) -> Matter:
    """One transaction: the case at the routed unit, the matter, its photos. `actor` is the
    reporting resident; or staff, with `reporter` the resident whose feed post it was
    (`source_post_id`); or None with `filed_by` naming the partner system (the timeline's
    `submitted` row says so)."""
    item = checked.item
    if reporter is _SAME_AS_ACTOR:
        reporter = actor
    # A savepoint only where an error is caught and the caller's transaction goes on: the unique
    # source_post_id of a post turned into a matter twice at once (do_create_matter_from_post).
    with transaction.atomic(savepoint=source_post_id is not None):
        case = do_open_case(
            actor=actor, reporter=reporter, kind="matter", unit=checked.unit, neighborhood=checked.neighborhood,
            accept_hours=item.accept_hours, resolve_hours=item.resolve_hours, note=filed_by,
        )
        matter = Matter.objects.create(
            case=case, item=item, category=item.category, neighborhood=checked.neighborhood, reporter=reporter,
            text=checked.text, text_status=checked.text_status, latitude=checked.latitude,
            longitude=checked.longitude, place=checked.place, hide_name=checked.hide_name,
            source_post_id=source_post_id,
        )
        MatterPhoto.objects.bulk_create(MatterPhoto.rows(list(checked.photo_ids), matter=matter))
        do_announce_case(case)  # the unit's push and the frame name and open the matter, so after its row
        if checked.text_status == PENDING_CHECK:
            # WeChat was unreachable: neighbors do not see the text until the sweep has a verdict.
            recheck.schedule()
    return matter


def do_create_matter_from_post(
    *, actor: User, reporter: User | None, item: MatterItem, neighborhood: Region, text: str, place: str,
    post_id: int, photo_ids: list[int] | None = None,
) -> Matter:
    """Staff of the neighborhood turn a feed post that needs an answer into a matter: the post's
    author is the reporter, the text already passed the feed's content check, the matter keeps
    the post's id (`source_post_id`, unique: a post turned twice is 409 `post_already_matter`).
    The caller (console.matter_from_post, which may read the feed) checks the post itself."""
    if not is_staff_for(actor, neighborhood.pk):
        raise Forbidden("staff_only", "只有本辖区工作人员可以把帖子转为诉求")
    if Matter.objects.filter(source_post_id=post_id).exists():
        raise Conflict("post_already_matter", "该帖子已转为诉求", matter=_matter_of_post(post_id))
    checked = CheckedMatter(
        item=item, neighborhood=neighborhood, unit=route(neighborhood, item.category), text=text,
        text_status=Matter.TextStatus.PUBLISHED, place=place, latitude=None, longitude=None,
        photo_ids=tuple(photo_ids or ()),
    )
    try:
        return do_open_matter(checked, actor=actor, reporter=reporter, source_post_id=post_id)
    except IntegrityError:  # two staff at once: the unique source_post_id lets one through
        raise Conflict("post_already_matter", "该帖子已转为诉求", matter=_matter_of_post(post_id)) from None


def _matter_of_post(post_id: int) -> int | None:
    return Matter.objects.filter(source_post_id=post_id).values_list("pk", flat=True).first()


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


def do_merge_matters(matter_id: int, *, into_id: int, actor: User, reason: str = "") -> Matter:
    """Staff merge a later matter into an earlier open one of the same neighborhood (the engine's
    do_merge_case checks and records it). The merged matter's reporter and its 我也遇到 neighbors
    become supporters of the other, so its answer reaches them; they are told where it went."""
    with transaction.atomic():
        matter = Matter.objects.select_related("case").get(pk=matter_id)
        into = Matter.objects.select_related("case").filter(pk=into_id).first()
        if into is None:
            raise InvalidInput("unknown_matter", "要并入的诉求不存在", field="into")
        case, into_case = do_merge_case(
            matter.case_id, into_id=into.case_id, actor=actor, reason=reason, names=(f"#{matter.pk}", f"#{into.pk}"),
        )
        Matter.objects.filter(pk=matter.pk).update(merged_into=into)
        followers = [matter.reporter_id, *MatterSupport.objects.filter(matter=matter).values_list("user_id", flat=True)]
        followers = [u for u in dict.fromkeys(followers) if u is not None and u != into.reporter_id]
        existing = set(MatterSupport.objects.filter(matter=into, user_id__in=followers).values_list("user_id", flat=True))
        added = [u for u in followers if u not in existing]
        MatterSupport.objects.bulk_create([MatterSupport(matter=into, user_id=u) for u in added])
        if added:
            Matter.objects.filter(pk=into.pk).update(supporters_count=F("supporters_count") + len(added))
        do_tell_merged(case, into_case, recipients=followers)
    return Matter.objects.get(pk=matter_id)
