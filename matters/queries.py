"""Read models for matter lists and the timeline (fixed number of queries per page)."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from cases.access import unit_ids_of
from cases.models import Case, CaseAnswerPhoto, CaseEvent, CaseJoint
from matters.models import Matter, MatterPhoto
from residents.access import profile

NEWEST = ("-created_at", "-id")
QUEUE = ("queue_due", "id")  # earliest deadline first: the overdue lead every queue
TIMELINE_LIMIT = 200


def for_list(queryset: QuerySet[Matter]) -> QuerySet[Matter]:
    return queryset.select_related(
        "case__unit", "case__supervising_unit", "item", "category", "neighborhood", "reporter"
    ).prefetch_related(
        Prefetch("photos", queryset=MatterPhoto.objects.select_related("image")),
        Prefetch("case__joints", queryset=CaseJoint.objects.select_related("unit")),
        Prefetch("case__answer_photos", queryset=CaseAnswerPhoto.objects.select_related("image")),
    )


def queue(queryset: QuerySet[Matter], user) -> QuerySet[Matter]:
    """What still waits for the caller to act: cases with a running deadline at the caller's
    unit (responsible, supervising or asked to join: 会办) or, for staff, in their neighborhoods."""
    units = unit_ids_of(user)
    mine = Q(case__unit_id__in=units) | Q(case__supervising_unit_id__in=units) | Q(neighborhood_id__in=profile(user).staff_of)
    if units:
        mine |= Q(Exists(CaseJoint.objects.filter(case_id=OuterRef("case_id"), unit_id__in=units)))
    queryset = queryset.filter(mine)
    # An annotation, not case__due_at: the keyset cursor reads the ordering values off the row.
    return queryset.filter(case__due_at__isnull=False, case__status__in=Case.ACCEPT_PHASE | Case.RESOLVE_PHASE).annotate(
        queue_due=F("case__due_at")
    )


def timeline(matter: Matter) -> list[CaseEvent]:
    return list(
        CaseEvent.objects.filter(case_id=matter.case_id).select_related("actor", "from_unit", "to_unit")
        .order_by("created_at", "id")[:TIMELINE_LIMIT]
    )
