"""Who may use the console and which regions they see.

Built on residents.access.profile: the console never decides a role on its own. Staff
(committee staff, street officers, district admins) use every screen in their region;
moderators who are not staff use only the moderation screens of their neighborhoods.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from cases.access import unit_ids_of
from core.errors import DomainError, Forbidden, NotFound
from residents.access import profile
from residents.models import Region, Role, User


@dataclass(frozen=True)
class ConsoleScope:
    user: User
    neighborhood_ids: frozenset[int]  # neighborhoods the user is staff of
    moderated_ids: frozenset[int]  # neighborhoods the user may moderate (staff or moderator)
    street_ids: frozenset[int]
    district_ids: frozenset[int]

    @property
    def is_staff(self) -> bool:
        # An officer of a street with no neighborhoods yet is still staff (profile().is_staff says no).
        return bool(self.neighborhood_ids or self.street_ids or self.district_ids)

    @property
    def can_use_console(self) -> bool:
        return self.is_staff or bool(self.moderated_ids)

    @property
    def dashboard_region_ids(self) -> frozenset[int]:
        return self.neighborhood_ids | self.street_ids | self.district_ids


def console_scope(user: User) -> ConsoleScope:
    p = profile(user)
    moderator_of = p.roles.get(Role.Kind.MODERATOR, frozenset())
    return ConsoleScope(
        user=user,
        neighborhood_ids=p.staff_of,
        moderated_ids=p.staff_of | moderator_of,
        street_ids=p.staff_streets,
        district_ids=p.roles.get(Role.Kind.DISTRICT_ADMIN, frozenset()),
    )


def can_use_console(user: User) -> bool:
    """Staff, moderators, and members of a responsible unit (物业, 城管 …: the matters board only)."""
    if not user.is_active or user.is_banned:
        return False
    return console_scope(user).can_use_console or bool(unit_ids_of(user))


def is_unit_only(request: HttpRequest) -> bool:
    """Someone who may use the console only as a unit member (not staff, not a moderator)."""
    scope = request.console
    return not scope.can_use_console and bool(unit_ids_of(request.user))


_LEVEL_ORDER = {Region.Level.DISTRICT: 0, Region.Level.STREET: 1, Region.Level.NEIGHBORHOOD: 2}


def dashboard_regions_for(scope: ConsoleScope, focus: Region | None = None) -> list[Region]:
    """The regions the dashboard's selector offers, widest first.

    A district admin may draw all 563, but a list of 550 neighborhoods helps no one (and cost
    the district page a fifth of its time): above neighborhood level the selector lists the
    district and streets, plus the neighborhoods of the focused street (the one shown, or the
    shown neighborhood's street). Someone whose dashboards are neighborhoods only sees them all."""
    ids = scope.dashboard_region_ids
    fields = ("id", "name", "level", "code", "parent_id")
    wide = list(
        Region.objects.filter(pk__in=ids, level__in=[Region.Level.DISTRICT, Region.Level.STREET]).only(*fields)
    )
    neighborhoods = Region.objects.filter(pk__in=ids, level=Region.Level.NEIGHBORHOOD).only(*fields)
    if wide:
        street = None
        if focus is not None and focus.level == Region.Level.STREET:
            street = focus.id
        elif focus is not None and focus.level == Region.Level.NEIGHBORHOOD:
            street = focus.parent_id
        neighborhoods = neighborhoods.filter(parent_id=street) if street is not None else neighborhoods.none()
    return sorted([*wide, *neighborhoods], key=lambda r: (_LEVEL_ORDER.get(r.level, 3), r.code))


def default_dashboard_region(scope: ConsoleScope) -> int:
    """The widest region the user may see a dashboard for."""
    rows = list(Region.objects.filter(pk__in=scope.dashboard_region_ids).values_list("id", "level", "code"))
    if not rows:
        raise NotFound()
    return min(rows, key=lambda r: (_LEVEL_ORDER.get(r[1], 3), r[2]))[0]


def access_dashboard_region(scope: ConsoleScope, region_id: int) -> tuple[Region, list[int]]:
    """The region and the ids of its neighborhoods within the user's scope; NotFound otherwise."""
    if region_id not in scope.dashboard_region_ids:
        raise NotFound()
    region = Region.objects.get(pk=region_id)
    if region.level == Region.Level.NEIGHBORHOOD:
        return region, [region.id]
    if region.level == Region.Level.STREET:
        ids = Region.objects.filter(level=Region.Level.NEIGHBORHOOD, parent_id=region.id)
    else:
        ids = Region.objects.filter(level=Region.Level.NEIGHBORHOOD, parent__parent_id=region.id)
    return region, [i for i in ids.values_list("id", flat=True) if i in scope.neighborhood_ids]


def back_url(request: HttpRequest, default: str = "/console/") -> str:
    """Where a form's POST returns to: its `next` field or the referring page, if on this site."""
    for target in (request.POST.get("next", ""), request.META.get("HTTP_REFERER", "")):
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            return target
    return default


def console_view(*, moderation: bool = False, staff: bool = True, units: bool = False):
    """Session login required; staff (or, for moderation screens, moderators; for the matters
    screens, members of a responsible unit) only.

    Domain errors become what a browser understands: NotFound → 404 (the same for
    "not yours"), Forbidden → 403, a conflict or bad input → a message and back to
    the page, so a second officer who lost a race sees what happened.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            scope = console_scope(request.user)
            allowed = (
                (staff and scope.is_staff)
                or (moderation and bool(scope.moderated_ids))
                or (units and bool(unit_ids_of(request.user)))
            )
            if not allowed or request.user.is_banned:
                raise PermissionDenied("仅限居委、街道工作人员或版主使用工作台")
            request.console = scope
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404("内容不存在") from None
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from None
            except DomainError as exc:
                if request.method != "POST":
                    raise
                messages.error(request, exc.message)
                return redirect(back_url(request))

        return wrapper

    return decorate
