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

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent


def _required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(
            f"Environment variable {name} is missing. "
            "Start the provider with `python -m demo.provider`, which sets it from --db and --key."
        )
    return value


def _read_rsa_private_key(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"RSA private key file {path} (DEMO_PROVIDER_RSA_KEY) not found. "
            "Run `python -m demo.provider setup`, which creates it."
        ) from None


def _positive_int_env(name: str, default: int) -> int:
    raw_value = os.environ.get(name, "")
    if not raw_value:
        return default
    try:
        value = int(raw_value)
    except ValueError:
        value = 0
    if value <= 0:
        raise ImproperlyConfigured(
            f"Environment variable {name}={raw_value!r} is invalid: expected a positive integer."
        )
    return value


DEBUG = False
SECRET_KEY = os.environ.get("DEMO_PROVIDER_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # DOT's oauth2_provider/base.html uses {% static %}.
    "django.contrib.staticfiles",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.provider.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The login template lives here. DOT's consent template comes from its app directory.
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _required_env("DEMO_PROVIDER_DB"),
        "OPTIONS": {
            # The server handles requests in threads. WAL and IMMEDIATE transactions let
            # concurrent writers wait for the lock (up to "timeout" seconds) instead of failing.
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

STATIC_URL = "/static/"

LOGIN_URL = "/accounts/login/"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _read_rsa_private_key(_required_env("DEMO_PROVIDER_RSA_KEY")),
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
    "ACCESS_TOKEN_EXPIRE_SECONDS": _positive_int_env("DEMO_PROVIDER_ACCESS_TOKEN_SECONDS", 300),
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        # With DEBUG off, Django sends request errors only to ADMINS by e-mail. Log them
        # (4xx as warnings, 5xx with tracebacks) to stderr instead.
        "django.request": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "demo": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # INFO, not DEBUG: DOT 3.4.1 logs the redirect URL, authorization code included,
        # at DEBUG level.
        "oauth2_provider": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
