"""Read models for matter lists and the timeline (fixed number of queries per page).

The lists read plain rows (`rows` → `paginate_keyset` → `attach`), not model instances: a
page of 20 matters as instances was ~160 objects (the matter, its case, two units, item,
category, neighborhood, the reporter's whole user row) plus the prefetched photos, joints and
answer photos, and building them was most of the queue's Python time (bench/README.md, issue 17).
A row is a dict keyed by the ORM paths in ROW_FIELDS plus the names of NAMED (from a memo, not
joins), `photos`, `answer_photos` and `joints`;
matters.serializers.row_of builds the same dict from an instance (the detail), so one function
(matters.serializers.matter_body) writes the JSON of both, and tests/matters/test_list_rows.py
holds every list item equal to its detail byte for byte."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from cases.access import unit_ids_of
from cases.models import Case, CaseAnswerPhoto, CaseEvent, CaseJoint, ResponsibleUnit
from core.memo import ProcessMemo
from matters.models import Matter, MatterCategory, MatterItem, MatterPhoto
from residents.access import profile
from residents.models import Region

NEWEST = ("-created_at", "-id")
QUEUE = ("queue_due", "id")  # earliest deadline first: the overdue lead every queue
TIMELINE_LIMIT = 200


ROW_FIELDS = (
    "id", "case_id", "category_id", "item_id", "text", "text_status", "place", "neighborhood_id", "case__status",
    "case__unit_id", "case__supervising_unit_id", "case__accept_due_at", "case__resolve_due_at", "case__due_at",
    "case__answer", "case__reject_reason", "supporters_count", "merged_into_id", "source_post_id", "reporter_id",
    "reporter__nickname", "reporter__first_name", "reporter__last_name", "reporter__username", "reporter__deleted_at",
    "hide_name", "created_at", "latitude", "longitude", "case__rating", "case__reopen_count", "case__resolved_at",
    "case__rating_comment", "case__rating_comment_status",
)
# Filled by attach() from NAMES, not joined: (row key, memo kind, the row's id key).
NAMED = (
    ("category__name", "category", "category_id"), ("item__name", "item", "item_id"),
    ("neighborhood__name", "region", "neighborhood_id"), ("case__unit", "unit", "case__unit_id"),
    ("case__supervising_unit", "unit", "case__supervising_unit_id"),
)
# Names of categories, items, neighborhoods and units (name, kind) as the lists show them. Joining
# the four tables made the queue's page query eight tables, whose planning cost 8.2 ms against
# 1.2 ms of execution at Baoshan scale (bench/README.md, "Session 10"). Cleared in this process by
# their saves (matters.apps); another process shows a rename within the minute.
NAMES = ProcessMemo("matters.names", ttl_seconds=60)
_NAME_SOURCES = {
    "category": lambda ids: MatterCategory.objects.filter(pk__in=ids).order_by().values_list("id", "name"),
    "item": lambda ids: MatterItem.objects.filter(pk__in=ids).order_by().values_list("id", "name"),
    "region": lambda ids: Region.objects.filter(pk__in=ids).order_by().values_list("id", "name"),
    "unit": lambda ids: ((pk, (name, kind)) for pk, name, kind in
                         ResponsibleUnit.objects.filter(pk__in=ids).order_by().values_list("id", "name", "kind")),
}


def _load_names(keys: set) -> dict:
    """One query per kind of name the page misses."""
    wanted: dict[str, set[int]] = {}
    for kind, pk in keys:
        wanted.setdefault(kind, set()).add(pk)
    return {(kind, pk): value for kind, ids in wanted.items() for pk, value in _NAME_SOURCES[kind](ids)}


def _name(rows: list[dict], extra_units: set[int]) -> dict:
    """Fill each row's NAMED keys; returns the names read (the joint units' among them)."""
    keys = {(kind, row[id_key]) for row in rows for _key, kind, id_key in NAMED if row[id_key] is not None}
    names = NAMES.get_many(keys | {("unit", pk) for pk in extra_units}, _load_names)
    for row in rows:
        for key, kind, id_key in NAMED:
            value = names.get((kind, row[id_key])) if row[id_key] is not None else None
            if kind == "unit":
                row[f"{key}__name"], row[f"{key}__kind"] = value or (None, None)
            else:
                row[key] = value
    return names


IMAGE_FIELDS = ("image_id", "image__status", "image__owner_id", "image__file", "image__thumbnail")


_ROWS: list[QuerySet] = []


def rows() -> QuerySet:
    """All matters as dicts of ROW_FIELDS: narrow (visible_matters_for(user, base=rows()), queue)
    and order as any queryset. Built once per process and cloned per request, as the service
    request list is (services.list_rows.listing): resolving the columns was compiled afresh on
    every page before (bench/README.md, "Session 10")."""
    if not _ROWS:
        _ROWS.append(Matter.objects.values(*ROW_FIELDS))
    return _ROWS[0].all()


def attach(rows: list[dict]) -> list[dict]:
    """Each row's names (NAMES: one query per kind the process has not read in the last minute),
    photos, answer photos (in position order) and joint units (in request order): at most three
    queries for the page, as the instances' prefetches were."""
    by_matter = {row["id"]: row for row in rows}
    by_case = {row["case_id"]: row for row in rows}
    for row in rows:
        row["photos"], row["answer_photos"], row["joints"] = [], [], []
    if not rows:
        return rows
    for photo in MatterPhoto.objects.filter(matter_id__in=by_matter).order_by("position", "id").values("matter_id", *IMAGE_FIELDS):
        by_matter[photo["matter_id"]]["photos"].append(photo)
    # Answer photos come only with an answer (cases.actions.do_resolve_case), which a reopen keeps:
    # a queue of cases never answered asks nothing.
    answered = [row["case_id"] for row in rows if row["case__answer"]]
    for photo in CaseAnswerPhoto.objects.filter(case_id__in=answered).order_by("position", "id").values(
        "case_id", *IMAGE_FIELDS
    ) if answered else ():
        by_case[photo["case_id"]]["answer_photos"].append(photo)
    joints = list(CaseJoint.objects.filter(case_id__in=by_case).order_by("id").values_list("case_id", "unit_id"))
    names = _name(rows, extra_units={unit_id for _case, unit_id in joints})
    for case_id, unit_id in joints:
        name, kind = names[("unit", unit_id)] or (None, None)
        by_case[case_id]["joints"].append({"id": unit_id, "name": name, "kind": kind})
    return rows


def queue(queryset: QuerySet[Matter], user) -> QuerySet[Matter]:
    """(`queryset`: rows(), or all matters.) What still waits for the caller to act: cases with a running deadline at the caller's
    unit (responsible, supervising or asked to join: 会办) or, for staff, in their neighborhoods."""
    units = unit_ids_of(user)
    mine = Q(case__unit_id__in=units) | Q(case__supervising_unit_id__in=units) | Q(neighborhood_id__in=profile(user).staff_of)
    if units:
        mine |= Q(Exists(CaseJoint.objects.filter(case_id=OuterRef("case_id"), unit_id__in=units)))
    queryset = queryset.filter(mine)
    # An annotation, not case__due_at: the keyset cursor reads the ordering values off the row
    # (after rows()' values(), an annotation is one more key of each row).
    return queryset.filter(case__due_at__isnull=False, case__status__in=Case.ACCEPT_PHASE | Case.RESOLVE_PHASE).annotate(
        queue_due=F("case__due_at")
    )


def timeline(matter: Matter) -> list[CaseEvent]:
    return list(
        CaseEvent.objects.filter(case_id=matter.case_id).select_related("actor", "from_unit", "to_unit")
        .order_by("created_at", "id")[:TIMELINE_LIMIT]
    )
