"""Who holds a role in a region: the one place other apps look role holders up.

notifications' `RoleHolders` recipients (notifications/inbox_sql.py) read them here, both
through the ORM and inside its one-statement inbox insert on PostgreSQL.
"""

from __future__ import annotations

from residents.models import Membership, Region, Role


def holder_ids(region_id: int, kind: str) -> list[int]:
    """Ids of everyone who holds `kind` in `region_id` now, in user-id order, each once."""
    return list(
        Role.objects.filter(region_id=region_id, kind=kind, revoked_at__isnull=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def holder_ids_sql() -> str:
    """The same set as a SQL subquery with one column `user_id`, for an INSERT … SELECT.

    Parameters, in order: region id, role kind."""
    return (
        f"SELECT DISTINCT user_id FROM {Role._meta.db_table}"
        " WHERE region_id = %s AND kind = %s AND revoked_at IS NULL"
    )


def building_leader_ids(building_group_id: int) -> list[int]:
    """The 楼组长 of a building group: whoever holds the 楼组长 role in its neighborhood (the
    role is held at the neighborhood, residents.models.Role.LEVELS) and whose current home there
    (an approved membership) is in that building group. In user-id order, each once."""
    neighborhood = Region.objects.filter(pk=building_group_id, level=Region.Level.BUILDING_GROUP).values_list("parent_id", flat=True).first()
    if neighborhood is None:
        return []
    return list(
        Role.objects.filter(region_id=neighborhood, kind=Role.Kind.BUILDING_LEADER, revoked_at__isnull=True,
                            user__memberships__building_group_id=building_group_id,
                            user__memberships__neighborhood_id=neighborhood,
                            user__memberships__status=Membership.Status.APPROVED)
        .order_by("user_id").values_list("user_id", flat=True).distinct()
    )
