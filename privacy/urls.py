"""Mounted under /api/v1/ by config/urls.py: path("", include("core.pipl_urls")).

DELETE /api/v1/me is served by residents' MeView (it owns GET/PATCH /me and delegates
delete to core.pipl_api.erase_me), so only the export path is here.
"""

from django.urls import path

from core import pipl_api

urlpatterns = [
    path("me/export", pipl_api.MeExportView.as_view(), name="me-export"),
]
