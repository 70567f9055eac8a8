"""Django settings for the local OpenID Connect provider (separate from the product's settings).

Environment variables:

- ``DEMO_PROVIDER_DB`` (required): path of the provider's SQLite database file.
- ``DEMO_PROVIDER_RSA_KEY`` (required): path of the PEM file with the RSA private key that
  signs ID tokens (RS256). ``python -m demo.provider setup`` creates it.
- ``DEMO_PROVIDER_SECRET_KEY`` (optional): Django ``SECRET_KEY``. Without it, each process
  draws a random key, so sessions do not survive a restart.
- ``DEMO_PROVIDER_ACCESS_TOKEN_SECONDS`` (optional): access token lifetime in seconds,
  300 by default. Tests of token refresh can shorten it.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from demo.common import settings as common
from demo.common.settings import *  # the settings that both providers share

_START_HINT = "Start the provider with `python -m demo.provider`, which sets it from --db and --key."


def _read_rsa_private_key(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"RSA private key file {path} (DEMO_PROVIDER_RSA_KEY) not found. "
            "Run `python -m demo.provider setup`, which creates it."
        ) from None


SECRET_KEY = common.secret_key("DEMO_PROVIDER_SECRET_KEY")

INSTALLED_APPS = common.BASE_INSTALLED_APPS + [
    # DOT's oauth2_provider/base.html uses {% static %}.
    "django.contrib.staticfiles",
    "oauth2_provider",
]

ROOT_URLCONF = "demo.provider.urls"

DATABASES = {
    "default": common.sqlite_database(common.required_env("DEMO_PROVIDER_DB", _START_HINT)),
}

STATIC_URL = "/static/"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _read_rsa_private_key(
        common.required_env("DEMO_PROVIDER_RSA_KEY", _START_HINT)
    ),
    "OAUTH2_VALIDATOR_CLASS": "demo.provider.validator.DemoOAuth2Validator",
    "PKCE_REQUIRED": True,
    "SCOPES": {
        "openid": "OpenID Connect sign-in",
        "profile": "Your name and username",
        "email": "Your email address",
        "read": "Read access to the test API",
    },
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https", "com.example.app"],
    # `setup` registers an authorization-code client only, so discovery lists only "code".
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": common.positive_int_env("DEMO_PROVIDER_ACCESS_TOKEN_SECONDS", 300),
    "ID_TOKEN_EXPIRE_SECONDS": 300,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 3600,
    "ROTATE_REFRESH_TOKEN": True,
    # A rotated refresh token that is presented again revokes the whole token family.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # RFC 9700 (OAuth 2.0 Security Best Current Practice) behaviour, as production providers
    # enforce it: reject the implicit and password grants, the "plain" PKCE method and access
    # tokens in query strings, and add the RFC 9207 "iss" parameter to authorization responses.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
}

LOGGING = common.logging_config("oauth2_provider")
