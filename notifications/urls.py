from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications", api.InboxView.as_view(), name="notifications"),
    path("notifications/read-all", api.ReadAllView.as_view(), name="notifications-read-all"),
    path("notifications/templates", api.TemplatesView.as_view(), name="notifications-templates"),
    path("notifications/consents", api.ConsentsView.as_view(), name="notifications-consents"),
    path("notifications/<int:notification_id>/read", api.ReadView.as_view(), name="notification-read"),
    path("events", api.EventsView.as_view(), name="events"),
]
