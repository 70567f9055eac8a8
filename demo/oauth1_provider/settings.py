"""Django settings for the local OAuth 1.0a provider (separate from the product's settings).

Environment variables:

- ``DEMO_OAUTH1_PROVIDER_DB`` (required): path of the provider's SQLite database file.
- ``DEMO_OAUTH1_PROVIDER_SECRET_KEY`` (optional): Django ``SECRET_KEY``. Without it, each
  process draws a random key, so sessions do not survive a restart.
"""

import os
import secrets

from django.core.exceptions import ImproperlyConfigured


def _required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(
            f"Environment variable {name} is missing. "
            "Start the provider with `python -m demo.oauth1_provider`, which sets it from --db."
        )
    return value


DEBUG = False
SECRET_KEY = os.environ.get("DEMO_OAUTH1_PROVIDER_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "demo.oauth1_provider",
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

ROOT_URLCONF = "demo.oauth1_provider.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
        "NAME": _required_env("DEMO_OAUTH1_PROVIDER_DB"),
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

LOGIN_URL = "/accounts/login/"

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
        "django.request": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "demo": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # INFO, not DEBUG: oauthlib logs signature base strings, tokens included, at DEBUG.
        "oauthlib": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
