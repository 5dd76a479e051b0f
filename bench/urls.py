from django.urls import path

from bench.bare import bare_view
from bench.views import CeilingView

urlpatterns = [
    path("bench/ceiling", CeilingView.as_view(), name="bench-ceiling"),
    # Served without middleware when it arrives through config/asgi.py (bench/bare.py).
    path("bench/bare", bare_view, name="bench-bare"),
]
