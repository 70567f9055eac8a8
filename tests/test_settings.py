"""project/settings.py reads the environment; a Redis cache is shared between workers."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/15"

READ_SETTINGS = """
import json
from django.conf import settings
import django
django.setup()
print(json.dumps({
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "db_engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": settings.DATABASES["default"]["NAME"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "cors": settings.CORS_ALLOWED_ORIGINS,
    "allaccess": settings.ALLACCESS_API,
}))
"""

WORKER = """
import sys
import django
django.setup()
from django.test import Client
client = Client(REMOTE_ADDR=sys.argv[2])
for _ in range(int(sys.argv[1])):
    print(client.post("/api/v1/auth/refresh/", {"refresh": "x"}, content_type="application/json").status_code)
"""


def run_python(code, env, *args):
    full_env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "project.settings",
                "DJANGO_SECRET_KEY": "settings-test", **env}
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=full_env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_settings_read_environment():
    output = run_python(READ_SETTINGS, {
        "DJANGO_DEBUG": "true",
        "DJANGO_ALLOWED_HOSTS": "api.example.org, localhost",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "CACHE_URL": REDIS_URL,
        "CORS_ALLOWED_ORIGINS": "https://spa.example",
        "ALLACCESS_REDIRECT_URIS": "https://spa.example/callback,com.example.app:/cb",
        "ALLACCESS_ENCRYPTION_KEYS": "key-new,key-old",
        "ALLACCESS_INSECURE_LOOPBACK": "1",
    })

    values = json.loads(output)
    assert values["debug"] is True
    assert values["hosts"] == ["api.example.org", "localhost"]
    assert values["db_engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "test"
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["cors"] == ["https://spa.example"]
    assert values["allaccess"] == {
        "REDIRECT_URIS": ["https://spa.example/callback", "com.example.app:/cb"],
        "ENCRYPTION_KEYS": ["key-new", "key-old"],
        "INSECURE_LOOPBACK": True,
    }


def test_settings_defaults():
    values = json.loads(run_python(READ_SETTINGS, {}))

    assert values["debug"] is False
    assert values["hosts"] == ["localhost", "127.0.0.1"]
    assert values["db_engine"] == "django.db.backends.sqlite3"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["allaccess"] == {"REDIRECT_URIS": [], "ENCRYPTION_KEYS": [], "INSECURE_LOOPBACK": False}


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    yield client
    client.flushdb()


def test_throttle_is_shared_between_workers_through_redis(redis_db):
    env = {"CACHE_URL": REDIS_URL, "ALLACCESS_THROTTLE_REFRESH": "2/min", "DJANGO_ALLOWED_HOSTS": "testserver"}
    address = f"127.0.{random.randint(1, 254)}.{random.randint(1, 254)}"

    first_worker = run_python(WORKER, env, "2", address).split()
    second_worker = run_python(WORKER, env, "1", address).split()

    assert first_worker == ["401", "401"]
    assert second_worker == ["429"]


def test_processes_without_secret_key_share_one():
    read_key = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    env = {"DJANGO_SECRET_KEY": ""}

    first = run_python(read_key, env)
    second = run_python(read_key, env)

    assert first.strip().startswith("django-insecure-")
    assert first == second


HTTPS_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({
    "redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
}))
"""


def test_https_settings_from_environment():
    values = json.loads(run_python(HTTPS_SETTINGS, {"DJANGO_HTTPS": "1", "DJANGO_HSTS_SECONDS": "600",
                                                    "DJANGO_TRUST_X_FORWARDED_PROTO": "1"}))

    assert values == {"redirect": True, "hsts": 600, "cookies": [True, True],
                      "proxy_header": ["HTTP_X_FORWARDED_PROTO", "https"]}


def test_https_settings_off_by_default():
    values = json.loads(run_python(HTTPS_SETTINGS, {}))

    assert values == {"redirect": False, "hsts": 0, "cookies": [False, False], "proxy_header": None}
