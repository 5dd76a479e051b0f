from django.urls import path

from matters import api

urlpatterns = [
    path("matters", api.MatterListCreateView.as_view(), name="matters"),
    path("matters/categories", api.CategoriesView.as_view(), name="matter-categories"),
    path("matters/<int:matter_id>", api.MatterDetailView.as_view(), name="matter"),
    path("matters/<int:matter_id>/accept", api.AcceptView.as_view(), name="matter-accept"),
    path("matters/<int:matter_id>/reject", api.RejectView.as_view(), name="matter-reject"),
    path("matters/<int:matter_id>/transfer", api.TransferView.as_view(), name="matter-transfer"),
    path("matters/<int:matter_id>/resolve", api.ResolveView.as_view(), name="matter-resolve"),
    path("matters/<int:matter_id>/confirm", api.ConfirmView.as_view(), name="matter-confirm"),
    path("matters/<int:matter_id>/reopen", api.ReopenView.as_view(), name="matter-reopen"),
    path("matters/<int:matter_id>/rating", api.RatingView.as_view(), name="matter-rating"),
    path("matters/<int:matter_id>/merge", api.MergeView.as_view(), name="matter-merge"),
    path("matters/<int:matter_id>/joint", api.JointView.as_view(), name="matter-joint"),
    path("matters/<int:matter_id>/joint-notes", api.JointNoteView.as_view(), name="matter-joint-note"),
    path("matters/<int:matter_id>/plus-one", api.PlusOneView.as_view(), name="matter-plus-one"),
]
