"""The project's URLs as if BENCH were true (config/urls.py reads it at import)."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/v1/", include("bench.urls")), *project_urlpatterns]
