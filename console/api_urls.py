"""The console's few JSON endpoints under /api/v1/ (config/urls.py): glue between sibling apps
that only a layer above both may import (.importlinter)."""

from django.urls import path

from console.case_list import CaseCountsView, CaseListView
from console.matter_from_post import MatterFromPostView

urlpatterns = [
    path("matters/from-post/<int:post_id>", MatterFromPostView.as_view(), name="matter-from-post"),
    path("cases", CaseListView.as_view(), name="cases"),
    path("cases/counts", CaseCountsView.as_view(), name="case-counts"),
]
