"""Serve the example single-page app in ``demo/spa/`` in debug or demo mode only."""

from django.conf import settings
from django.http import Http404
from django.views.static import serve

SPA_ROOT = settings.BASE_DIR / "demo" / "spa"

# Files of the app, each with the content security policy that keeps it on its own origin:
# no inline script, no CDN, no web fonts. Navigations to a provider are not limited by it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def is_enabled():
    """Return whether the example app is served: in debug mode or with ALLACCESS_DEMO_SPA on."""
    return settings.DEBUG or getattr(settings, "ALLACCESS_DEMO_SPA", False)


def spa_file(request, path):
    """Serve one file of the example app, or 404 when the app is switched off.

    The setting is read per request, so ``override_settings`` switches the app on in tests.
    """
    if not is_enabled():
        raise Http404("The example app is served only in debug or demo mode.")
    response = serve(request, path, document_root=SPA_ROOT)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # The callback page's URL carries the authorization code: never send it on as a Referer.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
