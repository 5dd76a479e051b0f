from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import health as core_health
from core import metrics as core_metrics
from core import views as core_views
from notifications.asyncapi import asyncapi_view

api_v1 = [
    path("", include("privacy.urls")),
    path("", include("residents.urls")),
    path("", include("notifications.urls")),
    path("", include("community.urls")),
    path("", include("services.urls")),
    path("", include("deliberation.urls")),
    path("", include("matters.urls")),
    path("", include("sensors.urls")),
    path("", include("console.api_urls")),
]
if settings.BENCH:
    # Behind the same middleware and auth as the real API, so its throughput is their ceiling.
    api_v1.append(path("", include("bench.urls")))

# The admin speaks the console's language and wears its colours (templates/admin/base_site.html).
admin.site.site_header = "社区通管理后台"
admin.site.site_title = "社区通管理后台"
admin.site.index_title = "数据管理"

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # The WebSocket's protocol as AsyncAPI 3.0, built from the stream and event registries.
    path("api/asyncapi.json", asyncapi_view, name="asyncapi"),
    path("wechat/", include("wechat.urls")),
    path("console/", include("console.urls")),
    path("open311/v2/", include("open311.urls")),
    path("admin/", admin.site.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_health.readyz, name="readyz"),
    path("metrics", core_metrics.metrics_view, name="metrics"),
]

if settings.DEBUG:
    # make run serves static and media itself; production puts nginx / object storage in front.
    from django.conf.urls.static import static

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "core.views.bad_request"
handler403 = "console.errors.permission_denied"
handler404 = "console.errors.page_not_found"
handler500 = "core.views.server_error"
