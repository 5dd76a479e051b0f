"""Who may act on a case. Seeing a case is the kind's business (matters.access answers 404
outside the caller's scope); this module answers, for someone who can see it, whether they
may act as the responsible unit or as the reporter."""

from __future__ import annotations

from django.db.models import Q

from cases.models import Case, ResponsibleUnit
from residents.access import is_staff_for
from residents.models import User


def unit_ids_of(user: User) -> frozenset[int]:
    """The active units the user works for (memoised on the user for one request)."""
    cached = getattr(user, "_case_unit_ids", None)
    if cached is None:
        cached = frozenset(ResponsibleUnit.objects.filter(members=user, is_active=True).values_list("id", flat=True))
        user._case_unit_ids = cached
    return cached


def acts_for_unit(user: User, case: Case) -> bool:
    """A member of the responsible (or supervising) unit, or staff of the case's neighborhood
    (committee staff, the street's officers, district admins): staff may always step in."""
    units = unit_ids_of(user)
    return case.unit_id in units or (case.supervising_unit_id in units) or is_staff_for(user, case.neighborhood_id)


def joined_unit_ids(case: Case) -> set[int]:
    """The units asked to join (会办); reads `case.joints.all()`, so a prefetch serves a list."""
    return {joint.unit_id for joint in case.joints.all()}


def joins_case(user: User, case: Case) -> bool:
    """A member of a unit asked to join the case (会办): sees it in full, adds notes, does not answer."""
    units = unit_ids_of(user)
    return bool(units) and not units.isdisjoint(joined_unit_ids(case))


def is_reporter(user: User, case: Case) -> bool:
    return case.reporter_id is not None and case.reporter_id == user.pk


def reachable_units(case: Case):
    """Units a case may be transferred to, or asked to join (会办): active units of its neighborhood, its street and its district."""
    street = case.street
    return ResponsibleUnit.objects.filter(
        Q(region_id=case.neighborhood_id) | Q(region_id=case.street_id) | Q(region_id=street.parent_id), is_active=True
    )
