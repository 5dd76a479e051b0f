from django.urls import path, re_path

from services import api

urlpatterns = [
    path("service-catalog", api.CatalogView.as_view(), name="service-catalog"),
    path("service-requests", api.ServiceRequestListCreateView.as_view(), name="service-requests"),
    path("service-requests/counts", api.CountsView.as_view(), name="service-request-counts"),
    path("service-requests/bulk-transitions", api.BulkTransitionView.as_view(), name="service-request-bulk-transitions"),
    path("service-requests/<int:request_id>", api.ServiceRequestDetailView.as_view(), name="service-request"),
    path("service-requests/<int:request_id>/transitions", api.TransitionView.as_view(), name="service-request-transitions"),
    path("service-requests/<int:request_id>/events", api.EventsView.as_view(), name="service-request-events"),
    path("service-requests/<int:request_id>/text-review", api.TextReviewView.as_view(), name="service-request-text-review"),
    path("service-requests/<int:request_id>/rating", api.RatingView.as_view(), name="service-request-rating"),
    path("service-requests/<int:request_id>/follow-up", api.FollowUpView.as_view(), name="service-request-follow-up"),
    path("service-stats/satisfaction", api.SatisfactionView.as_view(), name="service-satisfaction"),
    path("service-plans", api.ServicePlanCreateView.as_view(), name="service-plans"),
    path("service-plans/<int:plan_id>", api.ServicePlanDetailView.as_view(), name="service-plan"),
    re_path(
        r"^service-plans/(?P<plan_id>[0-9]+)/(?P<action>pause|resume|cancel)$",
        api.ServicePlanActionView.as_view(),
        name="service-plan-action",
    ),
]
