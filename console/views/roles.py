"""角色管理: who holds which role in my region; grant and revoke through the residents app.

residents decides everything: which regions I administer (`administered_region_ids`),
which kinds I may grant or revoke there (`grantable_role_kinds`), and the grant/revoke
themselves (`do_grant_role`, `do_revoke_role`, which re-check both). The console only
offers the kinds the rule allows, so a refused button is rare, and reports it if it happens.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.access import back_url, console_view
from core.errors import Forbidden, InvalidInput, NotFound
from residents import actions as resident_actions
from residents import queries as resident_queries
from residents.access import access_region_as_staff, access_role, administered_region_ids, grantable_role_kinds
from residents.models import Membership, Region, Role, User

PAGE_SIZE = 50
MEMBER_SEARCH_LIMIT = 20
LEVEL_ORDER = {Region.Level.DISTRICT: 0, Region.Level.STREET: 1, Region.Level.NEIGHBORHOOD: 2}


def _regions(user: User) -> list[Region]:
    regions = Region.objects.filter(pk__in=administered_region_ids(user))
    return sorted(regions, key=lambda r: (LEVEL_ORDER.get(r.level, 3), r.code))


def _chosen_region(request, regions: list[Region]) -> Region:
    raw = request.GET.get("region", "")
    if raw.isdigit():
        return access_region_as_staff(request.user, int(raw))
    if not regions:
        raise NotFound()
    return regions[0]


def _members(region: Region, q: str) -> list[Membership]:
    """Approved members of a neighborhood whose name contains q: to find the id to grant to."""
    if region.level != Region.Level.NEIGHBORHOOD or not q:
        return []
    return list(
        Membership.objects.filter(neighborhood=region, status=Membership.Status.APPROVED, user__nickname__icontains=q)
        .select_related("user", "building_group")
        .order_by("user__nickname", "id")[:MEMBER_SEARCH_LIMIT]
    )


@console_view()
def roles(request):
    regions = _regions(request.user)
    region = _chosen_region(request, regions)
    page = resident_queries.roles_in_region(request.user, region.pk, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    kind_labels = dict(Role.Kind.choices)
    grantable = grantable_role_kinds(request.user, region)
    # One grantable_role_kinds per distinct region on the page (a street's page lists its neighborhoods' roles).
    revocable: dict[int, frozenset[str]] = {}
    for role in page.items:
        if role.region_id not in revocable:
            revocable[role.region_id] = grantable_role_kinds(request.user, role.region)
    q = request.GET.get("q", "").strip()[:32]
    return render(
        request,
        "console/roles.html",
        {
            "active": "roles",
            "regions": regions,
            "region": region,
            "rows": [{"role": r, "may_revoke": r.kind in revocable[r.region_id]} for r in page.items],
            "next_cursor": page.next_cursor,
            "grantable": [(k, kind_labels[k]) for k in Role.Kind.values if k in grantable],
            "q": q,
            "members": _members(region, q),
        },
    )


def _grantee(raw: str) -> User:
    """A user id, or a console username."""
    raw = raw.strip()
    users = User.objects.filter(deleted_at__isnull=True)
    grantee = users.filter(pk=int(raw)).first() if raw.isdigit() else users.filter(username=raw).first()
    if grantee is None:
        raise InvalidInput("user_not_found", "找不到该用户，请填写用户编号或工作台用户名")
    return grantee


@require_POST
@console_view()
def grant(request):
    raw_region = request.POST.get("region", "")
    if not raw_region.isdigit():
        raise InvalidInput("invalid_region", "请选择区域")
    region = access_region_as_staff(request.user, int(raw_region))
    kind = request.POST.get("kind", "")
    if kind not in Role.Kind.values:
        raise InvalidInput("invalid_kind", "请选择角色")
    grantee = _grantee(request.POST.get("user", ""))
    try:
        role = resident_actions.do_grant_role(
            actor=request.user,
            grantee=grantee,
            region=region,
            kind=kind,
            title=request.POST.get("title", "").strip()[:32],
        )
    except Forbidden as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已授予 {grantee.display_name}「{role.get_kind_display()}」（{region.name}）")
    return redirect(back_url(request, reverse("console:roles") + f"?region={region.pk}"))


@require_POST
@console_view()
def revoke(request, role_id: int):
    role = access_role(request.user, role_id)
    try:
        resident_actions.do_revoke_role(role_id=role.pk, actor=request.user)
    except Forbidden as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"已撤销 {role.user.display_name} 的「{role.get_kind_display()}」（{role.region.name}）"
        )
    return redirect(back_url(request, reverse("console:roles") + f"?region={role.region_id}"))
