"""Read models for matter lists and the timeline (fixed number of queries per page).

The lists read plain rows (`listing` → `paginate_keyset` → `attach`), not model instances: a
page of 20 matters as instances was ~160 objects (the matter, its case, two units, item,
category, neighborhood, the reporter's whole user row) plus the prefetched photos, joints and
answer photos, and building them was most of the queue's Python time (bench/README.md, issue 17).
A row is a dict keyed by the ORM paths in ROW_FIELDS plus `photos`, `answer_photos` and `joints`;
matters.serializers.row_of builds the same dict from an instance (the detail), so one function
(matters.serializers.matter_body) writes the JSON of both, and tests/matters/test_list_rows.py
holds every list item equal to its detail byte for byte."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from cases.access import unit_ids_of
from cases.models import Case, CaseAnswerPhoto, CaseEvent, CaseJoint
from matters.models import Matter, MatterPhoto
from residents.access import profile

NEWEST = ("-created_at", "-id")
QUEUE = ("queue_due", "id")  # earliest deadline first: the overdue lead every queue
TIMELINE_LIMIT = 200


ROW_FIELDS = (
    "id", "case_id", "category_id", "category__name", "item_id", "item__name", "text", "text_status", "place",
    "neighborhood_id", "neighborhood__name", "case__status", "case__unit_id", "case__unit__name", "case__unit__kind",
    "case__supervising_unit_id", "case__supervising_unit__name", "case__supervising_unit__kind", "case__accept_due_at",
    "case__resolve_due_at", "case__due_at", "case__answer", "case__reject_reason", "supporters_count", "merged_into_id",
    "source_post_id", "reporter_id", "reporter__nickname", "reporter__first_name", "reporter__last_name",
    "reporter__username", "reporter__deleted_at", "hide_name", "created_at", "latitude", "longitude", "case__rating",
    "case__reopen_count", "case__resolved_at", "case__rating_comment", "case__rating_comment_status",
)
IMAGE_FIELDS = ("image_id", "image__status", "image__owner_id", "image__file", "image__thumbnail")


def listing(queryset: QuerySet[Matter]):
    """The list's rows as dicts (with the queue's ordering annotation, if any), for paginate_keyset."""
    return queryset.values(*ROW_FIELDS, *queryset.query.annotations)


def attach(rows: list[dict]) -> list[dict]:
    """Each row's photos, answer photos (in position order) and joint units (in request order):
    three queries for the page, as the instances' prefetches were."""
    by_matter = {row["id"]: row for row in rows}
    by_case = {row["case_id"]: row for row in rows}
    for row in rows:
        row["photos"], row["answer_photos"], row["joints"] = [], [], []
    if not rows:
        return rows
    for photo in MatterPhoto.objects.filter(matter_id__in=by_matter).order_by("position", "id").values("matter_id", *IMAGE_FIELDS):
        by_matter[photo["matter_id"]]["photos"].append(photo)
    for photo in CaseAnswerPhoto.objects.filter(case_id__in=by_case).order_by("position", "id").values("case_id", *IMAGE_FIELDS):
        by_case[photo["case_id"]]["answer_photos"].append(photo)
    for joint in CaseJoint.objects.filter(case_id__in=by_case).order_by("id").values("case_id", "unit_id", "unit__name", "unit__kind"):
        by_case[joint["case_id"]]["joints"].append({"id": joint["unit_id"], "name": joint["unit__name"], "kind": joint["unit__kind"]})
    return rows


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
