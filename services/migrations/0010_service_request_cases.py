"""Each service request gets its case on the engine (docs/matters.md, "Service requests on the
engine"): status mapped, due times copied, on the neighborhood's 居委 unit (created where none
is configured), and a timeline row per status change of its own timeline. One pass over the
requests, a few statements per request: run it in a maintenance window on a large table."""

import math

import django.db.models.deletion
from django.db import migrations, models

CASE_STATUS = {
    "submitted": "submitted", "accepted": "accepted", "assigned": "accepted", "in_service": "accepted",
    "completed": "resolved", "rated": "confirmed", "rejected": "rejected", "cancelled": "rejected",
    "reopened": "reopened", "paused": "submitted",
}
EVENT_OF = {"accepted": "accepted", "resolved": "resolved", "confirmed": "confirmed", "rejected": "rejected",
            "reopened": "reopened"}


def _hours(duration):
    return max(1, math.ceil(duration.total_seconds() / 3600))


def _due(req):
    if req.status in ("submitted", "reopened"):
        return min(req.accept_due_at, req.complete_due_at)
    if req.status in ("accepted", "assigned", "in_service"):
        return req.complete_due_at
    return None


def forwards(apps, schema_editor):
    ServiceRequest = apps.get_model("services", "ServiceRequest")
    ServiceRequestEvent = apps.get_model("services", "ServiceRequestEvent")
    ServiceRating = apps.get_model("services", "ServiceRating")
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    ResponsibleUnit = apps.get_model("cases", "ResponsibleUnit")
    units = {}
    for req in ServiceRequest.objects.filter(case__isnull=True).select_related("item", "neighborhood").order_by("pk").iterator():
        unit = units.get(req.neighborhood_id)
        if unit is None:
            unit = (ResponsibleUnit.objects.filter(region_id=req.neighborhood_id, kind="committee", is_active=True)
                    .order_by("pk").first())
            if unit is None:
                unit, _ = ResponsibleUnit.objects.get_or_create(
                    region_id=req.neighborhood_id, kind="committee", name=f"{req.neighborhood.name}居委会"
                )
            units[req.neighborhood_id] = unit
        status = CASE_STATUS[req.status]
        rating = ServiceRating.objects.filter(request_id=req.pk).first()
        case = Case.objects.create(
            kind="service_request", status=status, unit=unit, unit_chain=[unit.pk], neighborhood_id=req.neighborhood_id,
            street_id=req.street_id, reporter_id=req.requester_id, accept_hours=_hours(req.item.accept_within),
            resolve_hours=_hours(req.item.complete_within), accept_due_at=req.accept_due_at,
            resolve_due_at=req.complete_due_at, due_at=_due(req), resolved_at=req.completed_at,
            answer=req.completion_note, reject_reason=req.reject_reason,
            rating=rating.score if rating else None, rated_at=rating.created_at if rating else None,
            escalated_for=_due(req) if req.escalated_at else None,
        )
        Case.objects.filter(pk=case.pk).update(created_at=req.created_at)
        ServiceRequest.objects.filter(pk=req.pk).update(case=case)
        for event in ServiceRequestEvent.objects.filter(request_id=req.pk).order_by("created_at", "pk"):
            if event.kind == "created":
                kind = "submitted"
            elif event.kind in ("escalated", "rated"):
                kind = event.kind
            elif event.kind == "transition" and CASE_STATUS.get(event.to_status) != CASE_STATUS.get(event.from_status):
                kind = EVENT_OF.get(CASE_STATUS.get(event.to_status))
            else:
                kind = None
            if kind is None:
                continue
            row = CaseEvent.objects.create(
                case=case, kind=kind, actor_id=event.actor_id, from_status=CASE_STATUS.get(event.from_status, ""),
                to_status=CASE_STATUS.get(event.to_status, ""), reason=event.note,
            )
            CaseEvent.objects.filter(pk=row.pk).update(created_at=event.created_at)


def backwards(apps, schema_editor):
    ServiceRequest = apps.get_model("services", "ServiceRequest")
    Case = apps.get_model("cases", "Case")
    ServiceRequest.objects.update(case=None)
    Case.objects.filter(kind="service_request").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0002_case_status_merged'),
        ('services', '0009_image_moved_to_images_app'),
    ]

    operations = [
        migrations.AddField(
            model_name='servicerequest',
            name='case',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='service_request', to='cases.case', verbose_name='案件'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
