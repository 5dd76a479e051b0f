"""Our matters in GeoReport v2's words: a matter item is a service, a matter is a service
request. Field names are the spec's; datetimes are ISO 8601 in Shanghai time (+08:00).

Nothing about a resident leaves here: no reporter name, phone or account, no resident's
coordinates (a partner gets back only the point it sent itself), no timeline actors. The one
picture is `media_url`: the matter's first photo that passed WeChat's media check (what a
neighbor sees), as the project URL the API gives (images.pipeline.absolute_url).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from cases.models import Case, CaseEvent
from images.models import Image
from images.pipeline import absolute_url
from matters.models import Matter, MatterItem, MatterPhoto
from open311.models import PartnerKey, ServiceAttribute

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN_STATUSES = frozenset({Case.Status.SUBMITTED, Case.Status.ACCEPTED, Case.Status.REOPENED})
CLOSED_STATUSES = frozenset(set(Case.Status) - OPEN_STATUSES)


def when(value: dt.datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value is not None else None


def with_metadata(items: QuerySet[MatterItem]) -> QuerySet[MatterItem]:
    """`has_attributes` on each item, in the same query: metadata=true when it has any."""
    return items.annotate(has_attributes=Exists(ServiceAttribute.objects.filter(item=OuterRef("pk"), is_active=True)))


def service_out(item: MatterItem) -> dict:
    return {
        "service_code": str(item.pk),
        "service_name": item.name,
        "description": f"{item.category.name}·{item.name}：受理时限 {item.accept_hours} 小时，办结时限 {item.resolve_hours} 小时",
        "metadata": bool(getattr(item, "has_attributes", False)),
        "type": "realtime",
        "keywords": f"{item.category.name}, {item.name}",
        "group": item.category.name,
    }


def georeport_status(case: Case) -> str:
    """open while the unit still has to act; an answered matter is closed (it opens again if
    the resident reopens it, with a new updated_datetime)."""
    return "open" if case.status in OPEN_STATUSES else "closed"


def service_notice(case: Case) -> str:
    return (f"已交「{case.unit.name}」办理：{case.accept_hours} 小时内受理，"
            f"{case.resolve_hours} 小时内办结")


def status_notes(case: Case) -> str | None:
    if case.status == Case.Status.REJECTED:
        return f"{case.get_status_display()}：{case.reject_reason}"
    if case.answer and case.status in CLOSED_STATUSES:
        return f"{case.get_status_display()}：{case.answer}"
    return case.get_status_display()


def for_requests(queryset: QuerySet[Matter]) -> QuerySet[Matter]:
    """One query for any page: the case, its unit, the item, the filer, the latest event and the
    first passed photo's file."""
    latest = CaseEvent.objects.filter(case_id=OuterRef("case_id")).order_by("-created_at", "-id").values("created_at")[:1]
    photo = (
        MatterPhoto.objects.filter(matter_id=OuterRef("pk"), image__status=Image.Status.PASSED)
        .order_by("position", "id").values("image__file")[:1]
    )
    return queryset.select_related("case__unit", "item", "partner_request").annotate(
        updated_at=Subquery(latest), first_photo=Subquery(photo),
    )


def _own(matter: Matter, key: PartnerKey) -> bool:
    try:
        return matter.partner_request.key_id == key.pk
    except Matter.partner_request.RelatedObjectDoesNotExist:
        return False


def request_out(matter: Matter, key: PartnerKey) -> dict:
    case = matter.case
    own = _own(matter, key)
    has_point = own and matter.latitude is not None
    return {
        "service_request_id": matter.pk,
        "status": georeport_status(case),
        "status_notes": status_notes(case),
        "service_name": matter.item.name,
        "service_code": str(matter.item_id),
        "description": matter.text,
        "agency_responsible": case.unit.name,
        "service_notice": service_notice(case),
        "requested_datetime": when(matter.created_at),
        "updated_datetime": when(getattr(matter, "updated_at", None) or matter.created_at),
        "expected_datetime": when(case.resolve_due_at) if case.status in OPEN_STATUSES else None,
        "address": matter.place,
        "address_id": None,
        "zipcode": None,
        "lat": float(matter.latitude) if has_point else None,
        "long": float(matter.longitude) if has_point else None,
        "media_url": absolute_url(matter.first_photo) if getattr(matter, "first_photo", None) else None,
    }


def created_out(matter: Matter) -> dict:
    """The answer to POST requests: the id at once (no token step), the notice, no account."""
    return {"service_request_id": matter.pk, "service_notice": service_notice(matter.case), "account_id": None}
