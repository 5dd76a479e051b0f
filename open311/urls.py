from django.urls import re_path

from open311 import api

FORMAT = r"\.(?P<format>json|xml)$"

urlpatterns = [
    re_path(r"^services" + FORMAT, api.ServicesView.as_view(), name="open311-services"),
    re_path(r"^services/(?P<service_code>[^/.]+)" + FORMAT, api.ServiceDefinitionView.as_view(), name="open311-service"),
    re_path(r"^requests" + FORMAT, api.RequestsView.as_view(), name="open311-requests"),
    re_path(r"^requests/(?P<request_id>[0-9]{1,18})" + FORMAT, api.RequestView.as_view(), name="open311-request"),
    re_path(r"^.*$", api.NotFoundView.as_view(), name="open311-not-found"),
]
