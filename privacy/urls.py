"""Mounted under /api/v1/ by config/urls.py: path("", include("privacy.urls")).

DELETE /api/v1/me is served by residents' MeView (it owns GET/PATCH /me and delegates
delete to privacy.api.erase_me), so only the export path is here.
"""

from django.urls import path

from privacy import api

urlpatterns = [
    path("me/export", api.MeExportView.as_view(), name="me-export"),
]
