"""The ``ALLACCESS_API`` settings dict, read through one object with defaults.

Values are looked up on every access, so ``override_settings`` works in tests
and nothing is captured at import time::

    from allaccess_api.settings import api_settings

    api_settings.STATE_LIFETIME
"""

from datetime import timedelta

from django.conf import settings

from allaccess_api import __version__

DEFAULTS = {
    # Redirect URIs a client may name in ``authorize``, matched exactly.
    "REDIRECT_URIS": [],
    # Fernet keys, newest first. Empty: one key derived from SECRET_KEY.
    "ENCRYPTION_KEYS": [],
    # Allow http:// provider URLs and proxy targets on loopback addresses.
    "INSECURE_LOOPBACK": False,
    # How long a ``state`` from ``authorize`` can be used in ``callback``.
    "STATE_LIFETIME": timedelta(minutes=10),
    # Require ``code_challenge`` in ``authorize`` and its verifier in ``callback``.
    "REQUIRE_CLIENT_BINDING": True,
    # A link flow needs a JWT from a sign-in at most this long ago, so that a stolen
    # short-lived access JWT cannot link the thief's own identity to the account.
    "LINK_MAX_AUTH_AGE": timedelta(minutes=15),
    # Create a new user when an unknown identity signs in.
    "SIGNUP_OPEN": True,
    # Seconds to wait for a provider: (connect, read). The read timeout applies to each read.
    "HTTP_TIMEOUT": (5.0, 15.0),
    # Seconds a token, profile or JWKS response body may take to arrive in full.
    "HTTP_BODY_DEADLINE": 20.0,
    # Sent on every outbound request; some providers reject requests without one.
    "USER_AGENT": f"allaccess-api/{__version__} (python-requests)",
    # Maximum size of a token or profile response read into memory, in bytes.
    "MAX_PROVIDER_RESPONSE_BYTES": 1024 * 1024,
    # Maximum size of a request body the proxy forwards to a provider, in bytes.
    "PROXY_MAX_REQUEST_BYTES": 1024 * 1024,
    # Maximum size of a provider response the proxy streams back, in bytes.
    "PROXY_MAX_RESPONSE_BYTES": 100 * 1024 * 1024,
    # The proxy refreshes an access token this long before its stored expiry.
    "TOKEN_REFRESH_MARGIN": timedelta(seconds=30),
}


class APISettings:
    """Attribute access to ``settings.ALLACCESS_API`` with ``DEFAULTS`` beneath it."""

    def __init__(self, defaults):
        self.defaults = defaults

    def __getattr__(self, name):
        if name not in self.defaults:
            raise AttributeError(f"Unknown ALLACCESS_API setting: {name!r}")
        user_settings = getattr(settings, "ALLACCESS_API", {})
        return user_settings.get(name, self.defaults[name])


api_settings = APISettings(DEFAULTS)
