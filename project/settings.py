"""Settings of the runnable deployment, read from environment variables."""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def development_secret_key(path):
    """Read the development secret key from ``path``, creating it on first use.

    Every process (the server, each manage.py command) must share one key,
    because the default encryption key is derived from it: a key drawn per
    process would make secrets stored by one process unreadable by another.
    """
    if not path.exists():
        # Write a complete file under a temporary name, then link it into place. A process
        # starting at the same moment then reads either no file or the whole key, never half of it.
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as key_file:
            key_file.write("django-insecure-" + secrets.token_urlsafe(40))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # Another process created it first; its key wins.
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    DEVELOPMENT_KEY_FILE = BASE_DIR / ".django-secret-key"
    SECRET_KEY = development_secret_key(DEVELOPMENT_KEY_FILE)
    warnings.warn(
        f"DJANGO_SECRET_KEY is not set: using the development key in {DEVELOPMENT_KEY_FILE}. "
        "Set DJANGO_SECRET_KEY in production.",
        stacklevel=1,
    )

DEBUG = env_bool("DJANGO_DEBUG")

# HTTPS, for deployments behind TLS. DJANGO_HTTPS=1 marks the admin's cookies secure,
# redirects http to https and sends HSTS (DJANGO_HSTS_SECONDS, one year by default).
# DJANGO_TRUST_X_FORWARDED_PROTO=1 trusts a TLS-terminating proxy's X-Forwarded-Proto header.
HTTPS = env_bool("DJANGO_HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS")
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Serve the example SPA of demo/spa/ at / even with DEBUG off (make run and the browser tests).
ALLACCESS_DEMO_SPA = env_bool("ALLACCESS_DEMO_SPA")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "allaccess_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take SQLite's write lock when a transaction starts and wait for it, instead of failing
    # with "database is locked" when two requests write at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})

CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"

# The API's paths end with a slash; a POST without it gets the JSON 404, not a redirect
# that would turn it into a GET.
APPEND_SLASH = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["allaccess_api.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["allaccess_api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "allaccess_api.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "allaccess_authorize": os.environ.get("ALLACCESS_THROTTLE_AUTHORIZE", "60/min"),
        "allaccess_callback": os.environ.get("ALLACCESS_THROTTLE_CALLBACK", "60/min"),
        "allaccess_refresh": os.environ.get("ALLACCESS_THROTTLE_REFRESH", "120/min"),
        "allaccess_proxy": os.environ.get("ALLACCESS_THROTTLE_PROXY", "600/min"),
    },
    # Reverse proxies in front of the app. The throttles count requests per client address: with
    # 0 that is REMOTE_ADDR. With N, it is the Nth address from the right of X-Forwarded-For,
    # the one the outermost trusted proxy saw. DRF's own default (None) trusts the whole
    # header, which any client can forge to dodge the throttles.
    "NUM_PROXIES": int(os.environ.get("ALLACCESS_NUM_PROXIES", "0")),
}

DRF_STANDARDIZED_ERRORS = {"EXCEPTION_HANDLER_CLASS": "allaccess_api.handler.ExceptionHandler"}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "allaccess-api",
    "DESCRIPTION": "Social sign-in for single-page and mobile apps with OAuth 1.0a, OAuth 2.0 and OpenID Connect providers.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI's validator badge would load an image from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "allaccess_api.openapi.name_error_code_enums",
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
    ],
}

ALLACCESS_API = {
    "REDIRECT_URIS": env_list("ALLACCESS_REDIRECT_URIS"),
    "ENCRYPTION_KEYS": env_list("ALLACCESS_ENCRYPTION_KEYS"),
    "INSECURE_LOOPBACK": env_bool("ALLACCESS_INSECURE_LOOPBACK"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "allaccess_api": {"handlers": ["console"], "level": os.environ.get("ALLACCESS_LOG_LEVEL", "INFO")},
        # Server errors and rejected requests; Django's default sends them only to mail_admins.
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
