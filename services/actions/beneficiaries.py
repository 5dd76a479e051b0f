"""Who a request is for, where the service happens, and whether they may ask for it."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Forbidden, InvalidInput, NotFound
from residents.access import current_neighborhood_id, is_staff_for, profile
from residents.models import Beneficiary, Membership, Region, User
from services.beneficiary_sql import live_beneficiary
from services.models import ServiceItem


@dataclass
class Subject:
    beneficiary: Beneficiary | None
    neighborhood: Region
    address: str
    health_note: str
    filed_on_behalf: bool


def resolve_subject(actor: User, beneficiary_id: int | None) -> Subject:
    """The beneficiary (explicit, else the actor's default elder, else the actor themself),
    the neighborhood the service happens in, and the address to copy onto the request."""
    p = profile(actor)
    if beneficiary_id is not None:
        beneficiary = live_beneficiary(pk=beneficiary_id)
        if beneficiary is None:
            raise NotFound("beneficiary_not_found", "服务对象不存在")
        if beneficiary.owner_id == actor.pk:
            filed_on_behalf = False
        elif beneficiary.neighborhood_id in p.staff_of:
            # Committee staff filing for an elder without a phone, in their own region.
            filed_on_behalf = True
        else:
            raise NotFound("beneficiary_not_found", "服务对象不存在")
    else:
        beneficiary = live_beneficiary(default_of=actor.pk)
        filed_on_behalf = False
    if beneficiary is not None:
        # The elder's neighborhood, not the family member's: the service happens where the elder lives.
        if not filed_on_behalf and not p.member_of and not p.is_staff:
            raise Forbidden("membership_required", "请先加入所在居委/村并通过审核")
        return Subject(
            beneficiary=beneficiary,
            neighborhood=beneficiary.neighborhood,
            address=beneficiary.address,
            health_note=beneficiary.health_notes,
            filed_on_behalf=filed_on_behalf,
        )
    neighborhood_id = current_neighborhood_id(actor)
    if neighborhood_id is None:
        raise Forbidden("membership_required", "请先加入所在居委/村并通过审核")
    membership = (
        Membership.objects.select_related("neighborhood")
        .filter(user=actor, neighborhood_id=neighborhood_id, status=Membership.Status.APPROVED)
        .first()
    )
    assert membership is not None
    address = f"{membership.neighborhood.name}{membership.building}{membership.room}"
    return Subject(None, membership.neighborhood, address, "", False)


def check_eligible(actor: User, item: ServiceItem, subject: Subject) -> None:
    if not item.is_active or not item.category.is_active:
        raise InvalidInput("unknown_item", "服务项目不存在或已停用", field="item")
    if item.who_may_ask == ServiceItem.Requester.STAFF_ONLY and not is_staff_for(actor, subject.neighborhood.pk):
        raise Forbidden("not_eligible", "该服务需由居委代为申请", reason="staff_only")
    if item.min_age:
        if subject.beneficiary is None:
            raise Forbidden(
                "not_eligible", f"该服务面向{item.min_age}周岁以上老人，请先登记服务对象的出生年份",
                reason="age_unknown", min_age=item.min_age,
            )
        if subject.beneficiary.age < item.min_age:
            raise Forbidden(
                "not_eligible", f"该服务面向{item.min_age}周岁以上老人", reason="too_young", min_age=item.min_age
            )
