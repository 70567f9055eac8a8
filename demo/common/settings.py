"""Django settings shared by the local demo providers, and readers of their environment variables.

Each provider's settings module star-imports the settings in ``__all__`` and adds its own
apps, URLs, database and OAuth settings. The readers raise ``ImproperlyConfigured`` with
the command that fixes the problem.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "ALLOWED_HOSTS",
    "DEBUG",
    "DEFAULT_AUTO_FIELD",
    "LANGUAGE_CODE",
    "LOGIN_URL",
    "MIDDLEWARE",
    "TEMPLATES",
    "TIME_ZONE",
    "USE_TZ",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def required_env(name: str, fix: str) -> str:
    """Return the value of the environment variable ``name``, or raise with ``fix`` in the message."""
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"Environment variable {name} is missing. {fix}")
    return value


def positive_int_env(name: str, default: int) -> int:
    """Return the environment variable ``name`` as a positive integer, or ``default`` when it is unset."""
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


def secret_key(name: str) -> str:
    """Return the environment variable ``name``, or a random key when it is unset.

    A random key lives as long as the process, so sessions do not survive a restart.
    """
    return os.environ.get(name) or secrets.token_urlsafe(50)


def sqlite_database(path: str) -> dict:
    """Return the ``DATABASES`` entry of a provider's SQLite file."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # The server handles requests in threads. WAL and IMMEDIATE transactions let
            # concurrent writers wait for the lock (up to "timeout" seconds) instead of failing.
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


def logging_config(library_logger: str) -> dict:
    """Return ``LOGGING`` that writes Django's request errors, ``demo`` and ``library_logger`` to stderr.

    ``library_logger`` is the OAuth library's logger. It stays at INFO, not DEBUG, because
    at DEBUG django-oauth-toolkit 3.4.1 logs redirect URLs with their authorization codes
    and oauthlib logs signature base strings with their tokens.
    """
    return {
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
            library_logger: {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

BASE_INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
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

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The shared login page (registration/login.html) lives here. App templates,
        # such as DOT's consent page, come from the app directories.
        "DIRS": [TEMPLATES_DIR],
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

LOGIN_URL = "/accounts/login/"
