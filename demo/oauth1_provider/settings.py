"""Django settings for the local OAuth 1.0a provider (separate from the product's settings).

Environment variables:

- ``DEMO_OAUTH1_PROVIDER_DB`` (required): path of the provider's SQLite database file.
- ``DEMO_OAUTH1_PROVIDER_SECRET_KEY`` (optional): Django ``SECRET_KEY``. Without it, each
  process draws a random key, so sessions do not survive a restart.
"""

from demo.common import settings as common
from demo.common.settings import *  # the settings that both providers share

_START_HINT = "Start the provider with `python -m demo.oauth1_provider`, which sets it from --db."

SECRET_KEY = common.secret_key("DEMO_OAUTH1_PROVIDER_SECRET_KEY")

INSTALLED_APPS = common.BASE_INSTALLED_APPS + ["demo.oauth1_provider"]

ROOT_URLCONF = "demo.oauth1_provider.urls"

DATABASES = {
    "default": common.sqlite_database(common.required_env("DEMO_OAUTH1_PROVIDER_DB", _START_HINT)),
}

LOGGING = common.logging_config("oauthlib")
