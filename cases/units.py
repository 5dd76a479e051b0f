"""The neighborhood's 居委 as a responsible unit, for kinds that route to the committee without a
routing rule (service requests, sensor alerts)."""

from __future__ import annotations

from cases.models import ResponsibleUnit
from residents.models import Region


def committee_unit(neighborhood: Region) -> ResponsibleUnit:
    """The first active 居委 unit configured for the neighborhood; if there is none, one made
    under the street's grid unit (where escalation goes). The neighborhood row is locked before
    making it, so two creates at once make one unit. Not memoised: a unit made in a transaction
    that is rolled back must not be remembered. Call inside a transaction."""
    found = ResponsibleUnit.objects.filter(region=neighborhood, kind=ResponsibleUnit.Kind.COMMITTEE, is_active=True)
    unit = found.order_by("pk").first()
    if unit is not None:
        return unit
    Region.objects.select_for_update().filter(pk=neighborhood.pk).first()
    unit = found.order_by("pk").first()
    if unit is None:
        parent = ResponsibleUnit.objects.filter(
            region_id=neighborhood.parent_id, kind=ResponsibleUnit.Kind.GRID, is_active=True
        ).order_by("pk").first()
        unit = ResponsibleUnit.objects.create(
            name=neighborhood.name, kind=ResponsibleUnit.Kind.COMMITTEE, region=neighborhood, parent=parent
        )
    return unit
