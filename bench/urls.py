from django.urls import path

from bench.views import CeilingView

urlpatterns = [path("bench/ceiling", CeilingView.as_view(), name="bench-ceiling")]
