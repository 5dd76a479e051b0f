"""PIPL export, erasure and retention for 一键表达 (privacy/pipl.py, privacy/retention.py).

The export gives a person's matters in full (text, place, coordinates, photos), the 我也遇到 they
said and — in the `cases` section (cases/pipl.py) — each matter's status, timeline and rating.

Erasure follows services/pipl.py: the matter row stays, with its category, item, neighborhood
and case, so the unit's queue history and the counts per category and unit stay right; what the
reporter told us goes — the text, the place, the phone's coordinates and the photos (links and,
when nothing else uses them, the images and their files). Their 我也遇到 rows go too (they would
say where a person lives); the counts on the matters stay.

Retention: the coordinates of a matter finished (confirmed, closed, rejected, merged) before
the cutoff are cleared; the text stays as the public record of the neighborhood's problem.
"""

from __future__ import annotations

from datetime import datetime

from cases.models import Case
from images.models import Image
from matters.models import Matter, MatterPhoto, MatterSupport
from privacy.pipl import model_rows, register_eraser, register_exporter
from privacy.retention import register_purger

ERASED_TEXT = "（反映人已注销账号，内容已删除）"


def export(user) -> dict:
    matters = Matter.objects.filter(reporter=user)
    return {
        "matters": model_rows(matters),
        "matter_photos": model_rows(MatterPhoto.objects.filter(matter__in=matters.values("pk"))),
        "matter_supports": model_rows(MatterSupport.objects.filter(user=user)),
    }


def erase(user) -> None:
    matters = Matter.objects.filter(reporter=user)
    photos = MatterPhoto.objects.filter(matter__in=matters.values("pk"))
    image_ids = list(photos.values_list("image_id", flat=True))
    photos.delete()
    matters.update(text=ERASED_TEXT, place="", latitude=None, longitude=None, hide_name=True)
    MatterSupport.objects.filter(user=user).delete()
    for image in _unused(Image.objects.filter(pk__in=image_ids, owner=user)):
        image.file.delete(save=False)
        image.thumbnail.delete(save=False)
        image.delete()


def _unused(images):
    # A photo nothing else shows (another app's link, a post) goes with the matter's link.
    for rel in Image._meta.related_objects:
        if rel.related_model is not Image:
            images = images.exclude(**{f"{rel.name}__isnull": False})
    return images


FINISHED = (Case.Status.CONFIRMED, Case.Status.CLOSED, Case.Status.REJECTED, Case.Status.MERGED)


def purge_finished_locations(cutoff: datetime) -> int:
    """Clear the coordinates of matters finished before `cutoff` (idempotent: cleared rows are skipped)."""
    return (
        Matter.objects.filter(case__status__in=FINISHED, case__finished_at__lt=cutoff, latitude__isnull=False)
        .update(latitude=None, longitude=None)
    )


register_exporter("matters", export)
register_eraser("matters", erase)
register_purger("matters.finished_locations", purge_finished_locations)
