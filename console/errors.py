"""403 and 404 under /console/ inside the console's layout, with its navigation.

Django has one handler per status for the whole site (config/urls.py); these answer for
/console/ paths and leave every other path to core.views, so the API, WeChat and
Open311 keep their JSON error shape.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import console_scope
from core import views as core_views

CONSOLE_PREFIX = "/console/"


def _is_console_page(request: HttpRequest) -> bool:
    return request.path.startswith(CONSOLE_PREFIX) and "application/json" not in request.headers.get("Accept", "")


def _render(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and not hasattr(request, "console"):
        # Raised before (or outside) console_view: the navigation still needs the scope.
        request.console = console_scope(user)
    context = {"status": status, "title": title, "message": message}
    return render(request, "console/error.html", context, status=status)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    if not _is_console_page(request):
        return core_views.permission_denied(request, exception)
    detail = str(exception) if exception and str(exception) else "没有权限执行此操作"
    return _render(request, 403, "没有权限", detail)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if not _is_console_page(request):
        return core_views.page_not_found(request, exception)
    return _render(request, 404, "页面不存在", "您要找的内容不存在，或不在您负责的范围内。")
