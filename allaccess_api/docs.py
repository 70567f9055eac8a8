"""Swagger UI and ReDoc pages that load nothing from other hosts."""

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# The pages' own scripts are inline, so 'unsafe-inline' stays; everything else must come from
# this host. ReDoc's footer logo (from its CDN) is blocked by img-src and simply not shown.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
])


class LocalOnlyMixin:
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


class SwaggerView(LocalOnlyMixin, SpectacularSwaggerView):
    """Swagger UI from drf-spectacular-sidecar's files."""


class RedocView(LocalOnlyMixin, SpectacularRedocView):
    """ReDoc from drf-spectacular-sidecar's files, without the Google Fonts link."""

    template_name = "allaccess_api/redoc.html"
