"""URLs of the runnable deployment: the API under /api/v1/, its docs, the admin and the example SPA."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from allaccess_api import handler
from allaccess_api.docs import RedocView, SwaggerView

from project import demo_spa

api_patterns = [
    path("", include("allaccess_api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    # Unrouted /api/ paths get the JSON error envelope in debug mode too, where Django
    # would otherwise show its HTML debug page instead of handler404.
    re_path(r"^api/", handler.not_found),
    path("admin/", admin.site.urls),
    # The example SPA (demo/spa/): each view returns 404 unless DEBUG or ALLACCESS_DEMO_SPA is on.
    path("", demo_spa.spa_file, {"path": "index.html"}, name="demo-spa"),
    path("callback", demo_spa.spa_file, {"path": "callback.html"}, name="demo-spa-callback"),
    path("spa/<path:path>", demo_spa.spa_file, name="demo-spa-file"),
]

handler400 = "allaccess_api.handler.bad_request"
handler404 = "allaccess_api.handler.not_found"
