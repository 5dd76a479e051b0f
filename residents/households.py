"""An elder's household as the data model has it, for the apps that place things in it.

A `Beneficiary` has no address link of its own (its `address` is free text, encrypted). What the
model does know is the household of the resident who registered the elder (`Beneficiary.owner`,
the elder themself or a family member): their approved `Membership` in the elder's neighborhood,
with its building group — the same membership that makes someone a building group's 楼组长
(residents.roles.building_leader_ids). A registrant living in the elder's neighborhood is taken to
share the elder's home; one who lives elsewhere (no approved membership there) tells us nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F

from residents.models import Beneficiary, Membership


def household_building_groups(beneficiary_ids: Iterable[int]) -> dict[int, int]:
    """Beneficiary id → the building group of its household: the building group of its
    registrant's approved membership in the elder's neighborhood (a building group of that
    neighborhood). Elders without one are left out. One query for any number of elders."""
    ids = list(beneficiary_ids)
    if not ids:
        return {}
    rows = Beneficiary.objects.filter(
        pk__in=ids,
        owner__memberships__status=Membership.Status.APPROVED,
        owner__memberships__neighborhood_id=F("neighborhood_id"),
        owner__memberships__building_group__parent_id=F("neighborhood_id"),
    ).values_list("pk", "owner__memberships__building_group_id")
    return dict(rows)


def household_building_group_id(beneficiary_id: int) -> int | None:
    """The one elder's household building group id, or None."""
    return household_building_groups([beneficiary_id]).get(beneficiary_id)
