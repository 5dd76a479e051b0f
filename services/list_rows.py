"""The request list (`GET /api/v1/service-requests`, the staff queue) as plain rows.

The list is the screen staff and officers keep open all day. Built from model instances and
`ServiceRequestOut` it cost 69 ms a page in-process at Baoshan scale, of which 22 ms was SQL:
the rest was ORM instances, prefetch machinery, serializer fields and decrypting the health
note, which the list only ever shows as "****" (bench/README.md, "Issue 20"). Here:

- one `.values()` query reads exactly the columns the list shows, with the three joins the
  ORM path had (assigned user, beneficiary, rating) and the neighborhood's name; the health
  note is read as its stored token, which is empty exactly when the note is, and is never
  decrypted;
- the catalog items come from the process's catalog memo (services.queries.catalog_item), and
  one query per other related set (organizations, completion photos the viewer may see), each
  skipped when the page has none to ask for;
- `rows()` builds each row as a dict in `ServiceRequestOut`'s field order, formatting values
  as the DRF fields do (timestamps through core.times), so the JSON is the serializer's byte for byte
  (tests/services/test_list_rows.py holds the two equal for every role that reads the list,
  and the number of queries fixed).

`ServiceRequestOut` stays the schema of the list and the base of the detail serializer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import ExpressionWrapper, F, QuerySet, TextField
from django.db.models.functions import Now
from rest_framework import serializers

from core.crypto import mask_text
from core.times import api_datetimes
from images.pipeline import absolute_url
from residents.access import profile
from residents.models import display_name
from services.access import sees_unchecked_row
from services.extra import to_confirm
from services.models import ProviderOrganization, ServiceRequest, ServiceRequestPhoto, TextStatus
from services.queries import catalog_item, with_deadlines

Status = ServiceRequest.Status
STATUS_LABELS = {value: str(label) for value, label in Status.choices}

COLUMNS = (
    "id", "item_id", "status", "beneficiary_id", "beneficiary_name", "neighborhood_id", "requester_id",
    "filed_on_behalf", "address", "note", "note_status", "extra", "scheduled_for", "accept_due_at",
    "complete_due_at", "escalated_at", "assigned_org_id", "assigned_user_id", "reject_reason", "completion_note",
    "plan_id", "occurrence_date", "created_at", "updated_at", "completed_at", "follow_up_due_at", "followed_up_at",
    # annotations: the queue's order (services.queries.with_deadlines) and the health note's token
    "is_overdue", "in_open_state", "due_at", "health_note_token",
    # the joins: the three the ORM path had, and the neighborhood's name (a primary-key join)
    "beneficiary__owner_id", "neighborhood__name",
    "assigned_user__nickname", "assigned_user__first_name", "assigned_user__last_name",
    "assigned_user__username", "assigned_user__deleted_at",
    "rating__id", "rating__score", "rating__comment", "rating__comment_status", "rating__created_at",
)

# The serializer's own formatting, so a date reads exactly as ServiceRequestOut writes it; timestamps
# go through core.times, DRF's DateTimeField output without its per-value lookups.
_date = serializers.DateField().to_representation


_LISTING: list[QuerySet] = []


def listing() -> QuerySet:
    """All requests as dicts of COLUMNS: filter (visible_requests_for(user, base=listing())) and
    order as any queryset.

    Built once per process and cloned per request: resolving 45 columns and the deadline
    expressions cost 1.9 ms of CPU a request (bench/README.md, "Issue 20"). So "overdue" is
    measured against the database's clock (Now()), not the process's, which the ORM path used."""
    if not _LISTING:
        # The stored token, not the plaintext: a TextField output skips EncryptedTextField's decrypt.
        token = ExpressionWrapper(F("health_note"), output_field=TextField())
        _LISTING.append(
            with_deadlines(ServiceRequest.objects.all(), now=Now()).annotate(health_note_token=token).values(*COLUMNS)
        )
    return _LISTING[0].all()


def rows(page: list[dict[str, Any]], viewer: Any) -> list[dict[str, Any]]:
    """ServiceRequestOut(many=True).data for a page read by `listing`, seen by `viewer`."""
    if not page:
        return []
    items = {pk: catalog_item(pk) for pk in {r["item_id"] for r in page}}  # the process's catalog memo
    org_ids = {r["assigned_org_id"] for r in page if r["assigned_org_id"] is not None}
    orgs = dict(ProviderOrganization.objects.filter(pk__in=org_ids).values_list("id", "name")) if org_ids else {}
    # Photos come only with the completion move, which sets completed_at (never cleared, not
    # even by a reopen): a request never completed has none, and a queue of new ones asks nothing.
    completed = [r["id"] for r in page if r["completed_at"] is not None]
    photos: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in (
        ServiceRequestPhoto.objects.filter(request_id__in=completed)
        .visible_to(viewer)
        .values("request_id", "event_id", "image_id", "image__status", "image__thumbnail")
    ) if completed else ():
        photos[p["request_id"]].append(
            {"id": p["image_id"], "event_id": p["event_id"], "status": p["image__status"],
             "thumbnail_url": absolute_url(p["image__thumbnail"])}
        )
    staff_of = profile(viewer).staff_of
    _dt = api_datetimes()  # the current time zone, looked up once a page
    return [_row(r, items[r["item_id"]], orgs, photos.get(r["id"], []), viewer, staff_of, _dt) for r in page]


def _row(r, item, orgs, photos, viewer, staff_of, _dt) -> dict[str, Any]:
    unchecked: bool | None = None  # asked at most once per row

    def sees_unchecked() -> bool:
        nonlocal unchecked
        if unchecked is None:
            unchecked = sees_unchecked_row(
                viewer, requester_id=r["requester_id"], beneficiary_owner_id=r["beneficiary__owner_id"],
                neighborhood_id=r["neighborhood_id"], staff_of=staff_of,
            )
        return unchecked

    rating = None
    if r["status"] == Status.RATED and r["rating__id"] is not None:
        published = r["rating__comment_status"] == TextStatus.PUBLISHED
        rating = {
            "score": r["rating__score"],
            "comment": r["rating__comment"] if published or sees_unchecked() else "",
            "comment_status": r["rating__comment_status"],
            "created_at": _dt(r["rating__created_at"]),
        }
    assigned_user = None
    if r["assigned_user_id"] is not None:
        assigned_user = {"id": r["assigned_user_id"], "name": display_name(
            r["assigned_user__nickname"], r["assigned_user__first_name"], r["assigned_user__last_name"],
            r["assigned_user__username"], r["assigned_user__deleted_at"],
        )}
    org_id = r["assigned_org_id"]
    return {
        "id": r["id"],
        "item": {"id": item.id, "name": item.name, "category_id": item.category_id, "category_name": item.category.name},
        "status": r["status"],
        "status_label": STATUS_LABELS.get(r["status"], r["status"]),
        "beneficiary_id": r["beneficiary_id"],
        "beneficiary_name": r["beneficiary_name"],
        "neighborhood": {"id": r["neighborhood_id"], "name": r["neighborhood__name"]},
        "requester_id": r["requester_id"],
        "filed_on_behalf": r["filed_on_behalf"],
        # The list is always masked (the detail decides who sees these in full).
        "address": mask_text(r["address"]),
        "health_note": "****" if r["health_note_token"] else "",  # mask_text(note, keep=0), unread
        "sensitive_masked": True,
        "note": r["note"] if r["note_status"] == TextStatus.PUBLISHED or sees_unchecked() else "",
        "note_status": r["note_status"],
        "extra": {str(k): v for k, v in r["extra"].items()},
        "to_confirm": to_confirm(item.fields, r["extra"]),
        "scheduled_for": _dt(r["scheduled_for"]),
        "accept_due_at": _dt(r["accept_due_at"]),
        "complete_due_at": _dt(r["complete_due_at"]),
        "is_overdue": bool(r["is_overdue"]),
        "escalated_at": _dt(r["escalated_at"]),
        "assigned_org": None if org_id is None else {"id": org_id, "name": orgs[org_id]},
        "assigned_user": assigned_user,
        "reject_reason": r["reject_reason"],
        "completion_note": r["completion_note"],
        "completion_photos": photos,
        "plan_id": r["plan_id"],
        "occurrence_date": None if r["occurrence_date"] is None else _date(r["occurrence_date"]),
        "rating": rating,
        "created_at": _dt(r["created_at"]),
        "updated_at": _dt(r["updated_at"]),
        "completed_at": _dt(r["completed_at"]),
        "follow_up_due_at": _dt(r["follow_up_due_at"]),
        "followed_up_at": _dt(r["followed_up_at"]),
    }
