"""Who may see which matter (docs/matters.md, Scope). Anyone else gets 404.

- the reporter, and neighbors who said 我也遇到;
- approved members of the matter's neighborhood, once its text passed the content check and
  unless it was rejected (the public view: no personal data, the name only if not hidden);
- the responsible unit's and the supervising unit's members (and, read-only, the members of
  every unit it was routed, transferred or escalated to before);
- staff of the neighborhood (committee staff, the street's officers, district admins).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from cases.access import acts_for_unit, joins_case, unit_ids_of
from cases.models import Case, CaseEvent
from core.errors import NotFound
from matters.models import Matter, MatterSupport
from residents.access import is_staff_for, profile
from residents.models import User


def visible_matters_for(user: User, base: QuerySet[Matter] | None = None) -> QuerySet[Matter]:
    """`base` (all matters, or matters.queries.rows() for a list's plain rows) narrowed to what the user may see."""
    p = profile(user)
    units = unit_ids_of(user)
    condition = Q(reporter=user) | Q(Exists(MatterSupport.objects.filter(matter=OuterRef("pk"), user=user)))
    if p.member_of:
        condition |= Q(neighborhood_id__in=p.member_of, text_status=Matter.TextStatus.PUBLISHED) & ~Q(
            case__status=Case.Status.REJECTED
        )
    if p.staff_of:
        condition |= Q(neighborhood_id__in=p.staff_of)
    if units:
        # Units it was routed, transferred or escalated to keep reading it (not acting on it); a
        # unit asked to join (会办) is one of them: its `joint_requested` row names it as to_unit.
        handled = CaseEvent.objects.filter(case_id=OuterRef("case_id"), to_unit_id__in=units)
        condition |= Q(case__unit_id__in=units) | Q(case__supervising_unit_id__in=units) | Q(Exists(handled))
    return (Matter.objects.all() if base is None else base).filter(condition)


def access_matter(user: User, matter_id: int) -> Matter:
    try:
        return (
            visible_matters_for(user)
            .select_related("case__unit", "case__supervising_unit", "item", "category", "neighborhood", "reporter")
            .prefetch_related("photos__image", "case__joints__unit", "case__answer_photos__image")
            .get(pk=matter_id)
        )
    except (Matter.DoesNotExist, ValueError, TypeError):
        raise NotFound("matter_not_found", "诉求不存在") from None


def sees_full(user: User, matter: Matter) -> bool:
    """Reporter, unit and staff see the whole matter (name, coordinates, who did what);
    neighbors see the public view. A unit asked to join (会办) works it too."""
    return matter.reporter_id == user.pk or acts_for_unit(user, matter.case) or joins_case(user, matter.case)


def sees_full_row(user: User, row: dict) -> bool:
    """`sees_full` for a list's row (matters.queries.rows): the same rule over its columns —
    cases.access.acts_for_unit's units and staff, joins_case's joint units."""
    if row["reporter_id"] == user.pk:
        return True
    units = unit_ids_of(user)
    if row["case__unit_id"] in units or row["case__supervising_unit_id"] in units:
        return True
    if is_staff_for(user, row["neighborhood_id"]):
        return True
    return bool(units) and any(joint["id"] in units for joint in row["joints"])
