"""Which matters a partner key may read: in the neighborhoods its regions cover, those it filed
itself, and those a neighbor could see there (text passed the content check, not rejected).
Anything else answers 404, exactly like a missing one."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cases.models import Case
from core.errors import NotFound
from matters.models import Matter
from open311.keys import neighborhood_ids_of
from open311.models import PartnerKey


def visible_requests_for(key: PartnerKey) -> QuerySet[Matter]:
    public = Q(text_status=Matter.TextStatus.PUBLISHED) & ~Q(case__status=Case.Status.REJECTED)
    return Matter.objects.filter(Q(partner_request__key=key) | public, neighborhood_id__in=neighborhood_ids_of(key))


def access_request(key: PartnerKey, matter_id: int) -> Matter:
    matter = visible_requests_for(key).filter(pk=matter_id).first()
    if matter is None:
        raise NotFound("request_not_found", "诉求不存在")
    return matter
